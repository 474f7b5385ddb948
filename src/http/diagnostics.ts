/**
 * The proxy's `node:diagnostics_channel` channels. Messages are built only when a channel
 * has subscribers, so an unobserved proxy pays one property read per event.
 *
 * @example
 * ```ts
 * import diagnostics_channel from 'node:diagnostics_channel';
 * diagnostics_channel.subscribe('switchyard:proxy:retry', ({ endpoint, attempt, reason }) => {
 *   console.log(`retry ${attempt} after ${reason} on ${endpoint.id}`);
 * });
 * ```
 */

import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PoolEndpoint } from '../pool/types.js';

/** Published when the proxy starts handling a request. */
export interface ProxyRequestMessage {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
}

/** Published when an upstream response starts being forwarded. */
export interface ProxyResponseMessage {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly endpoint: PoolEndpoint;
  readonly statusCode: number;
  /** Tries made, this one included. */
  readonly attempts: number;
}

/** Published when a try failed and the request is sent to another endpoint. */
export interface ProxyRetryMessage {
  readonly request: IncomingMessage;
  /** The endpoint that failed. */
  readonly endpoint: PoolEndpoint;
  /** The try that failed (1 for the first). */
  readonly attempt: number;
  /** The failure kind (`connect`, `reset`, `headers-timeout`, …) or `status 503`. */
  readonly reason: string;
  readonly error: unknown;
}

/** Published when the proxy answers with an error of its own or resets the client. */
export interface ProxyErrorMessage {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly error: unknown;
  /** The endpoint of the last try, if any. */
  readonly endpoint: PoolEndpoint | undefined;
}

/** The channels, by name: `switchyard:proxy:request`, `:response`, `:retry` and `:error`. */
export const proxyChannels = {
  request: diagnostics.channel('switchyard:proxy:request'),
  response: diagnostics.channel('switchyard:proxy:response'),
  retry: diagnostics.channel('switchyard:proxy:retry'),
  error: diagnostics.channel('switchyard:proxy:error'),
} as const;
