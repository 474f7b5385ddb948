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
import type { PoolEndpoint } from '../../pool/types.js';

/** Published when the proxy starts handling a request. */
export interface ProxyRequestMessage {
  /** The client's request. */
  readonly request: IncomingMessage;
  /** The response to the client. */
  readonly response: ServerResponse;
}

/** Published when an upstream response starts being forwarded. */
export interface ProxyResponseMessage {
  /** The client's request. */
  readonly request: IncomingMessage;
  /** The response to the client. */
  readonly response: ServerResponse;
  /** The endpoint that answered. */
  readonly endpoint: PoolEndpoint;
  /** The upstream status code, as forwarded. */
  readonly statusCode: number;
  /** Tries made, this one included. */
  readonly attempts: number;
}

/** Published when a try failed and the request is sent to another endpoint. */
export interface ProxyRetryMessage {
  /** The client's request. */
  readonly request: IncomingMessage;
  /** The endpoint that failed. */
  readonly endpoint: PoolEndpoint;
  /** The try that failed (1 for the first). */
  readonly attempt: number;
  /** The failure kind (`connect`, `reset`, `headers-timeout`, …) or `status 503`. */
  readonly reason: string;
  /** The failure: a transport error, or the retried status response's error. */
  readonly error: unknown;
}

/** Published when the proxy answers with an error of its own or resets the client. */
export interface ProxyErrorMessage {
  /** The client's request. */
  readonly request: IncomingMessage;
  /** The response to the client. */
  readonly response: ServerResponse;
  /** Why the proxy answered itself or reset the client. */
  readonly error: unknown;
  /** The endpoint of the last try, if any. */
  readonly endpoint: PoolEndpoint | undefined;
}

/** The channels, by name: `switchyard:proxy:request`, `:response`, `:retry` and `:error`. */
export const proxyChannels: {
  /** `switchyard:proxy:request`: {@link ProxyRequestMessage}. */
  readonly request: diagnostics.Channel;
  /** `switchyard:proxy:response`: {@link ProxyResponseMessage}. */
  readonly response: diagnostics.Channel;
  /** `switchyard:proxy:retry`: {@link ProxyRetryMessage}. */
  readonly retry: diagnostics.Channel;
  /** `switchyard:proxy:error`: {@link ProxyErrorMessage}. */
  readonly error: diagnostics.Channel;
} = {
  request: diagnostics.channel('switchyard:proxy:request'),
  response: diagnostics.channel('switchyard:proxy:response'),
  retry: diagnostics.channel('switchyard:proxy:retry'),
  error: diagnostics.channel('switchyard:proxy:error'),
};
