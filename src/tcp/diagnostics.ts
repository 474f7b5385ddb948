/**
 * The TCP proxy's `node:diagnostics_channel` channels. Messages are built only when a
 * channel has subscribers, so an unobserved proxy pays one property read per event.
 *
 * @example
 * ```ts
 * import diagnostics_channel from 'node:diagnostics_channel';
 * diagnostics_channel.subscribe('switchyard:tcp:close', (message) => {
 *   const { endpoint, reason, durationMs } = message as TcpCloseMessage;
 *   console.log(`${endpoint?.id ?? '-'} ${reason} after ${durationMs} ms`);
 * });
 * ```
 */

import diagnostics from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import type { UnsupportedEndpointError } from '../errors.js';
import type { PoolEndpoint } from '../pool/types.js';

/** Published when a client connection is connected to an upstream. */
export interface TcpConnectMessage {
  /** The client's socket. */
  readonly socket: Socket;
  /** The socket to the upstream. */
  readonly upstream: Socket;
  /** The endpoint connected to. */
  readonly endpoint: PoolEndpoint;
  /** Connect attempts made, this one included. */
  readonly attempts: number;
  /** Time to connect to this endpoint, ms: the latency sample the pool gets. */
  readonly connectMs: number;
}

/** Published when a connect attempt failed and the connection moves to another endpoint. */
export interface TcpFailoverMessage {
  /** The client's socket. */
  readonly socket: Socket;
  /** The endpoint that failed. */
  readonly endpoint: PoolEndpoint;
  /** The attempt that failed (1 for the first). */
  readonly attempt: number;
  /** `timeout`, or the socket error's code (`ECONNREFUSED`, `EHOSTUNREACH`, …), or `error`. */
  readonly reason: string;
  /** The failure. */
  readonly error: unknown;
}

/**
 * How a client connection ended:
 * - `end`: both sides closed normally (FIN both ways);
 * - `reset`: one side reset or failed, and the other was reset;
 * - `idle`: nothing moved either way for `idleTimeoutMs`;
 * - `drain`: still open when `close({ drainMs })` ran out of time;
 * - `no-endpoint`: no endpoint was eligible (or the pool was closed);
 * - `connect-failed`: every connect attempt failed.
 */
export type TcpCloseReason = 'end' | 'reset' | 'idle' | 'drain' | 'no-endpoint' | 'connect-failed';

/** Published once per client connection, when it and its upstream socket have closed. */
export interface TcpCloseMessage {
  /** The client's socket. */
  readonly socket: Socket;
  /** The endpoint of the last attempt, or undefined when none was picked. */
  readonly endpoint: PoolEndpoint | undefined;
  /** How it ended. */
  readonly reason: TcpCloseReason;
  /** The error that ended it, if one did. */
  readonly error: unknown;
  /** Time from accept to close, ms. */
  readonly durationMs: number;
  /** Bytes read from the client (forwarded to the upstream). */
  readonly bytesIn: number;
  /** Bytes written to the client (from the upstream). */
  readonly bytesOut: number;
}

/** Published when an endpoint the proxy cannot connect to joins the pool (it is never used). */
export interface TcpUnsupportedEndpointMessage {
  /** The endpoint: a scheme other than `tcp:` or `http:`, or no port. */
  readonly endpoint: PoolEndpoint;
  /** The error naming it (credentials redacted), code `ERR_UNSUPPORTED_ENDPOINT`. */
  readonly error: UnsupportedEndpointError;
}

/**
 * The channels, by name: `switchyard:tcp:connect`, `:failover`, `:close` and
 * `:unsupported-endpoint`.
 */
export const tcpChannels: {
  /** `switchyard:tcp:connect`: {@link TcpConnectMessage}. */
  readonly connect: diagnostics.Channel;
  /** `switchyard:tcp:failover`: {@link TcpFailoverMessage}. */
  readonly failover: diagnostics.Channel;
  /** `switchyard:tcp:close`: {@link TcpCloseMessage}. */
  readonly close: diagnostics.Channel;
  /** `switchyard:tcp:unsupported-endpoint`: {@link TcpUnsupportedEndpointMessage}. */
  readonly unsupportedEndpoint: diagnostics.Channel;
} = {
  connect: diagnostics.channel('switchyard:tcp:connect'),
  failover: diagnostics.channel('switchyard:tcp:failover'),
  close: diagnostics.channel('switchyard:tcp:close'),
  unsupportedEndpoint: diagnostics.channel('switchyard:tcp:unsupported-endpoint'),
};
