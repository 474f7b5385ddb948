/**
 * The schemes the HTTP adapters speak: `http:` and `https:`. An endpoint with another
 * (`ftp://…`, or `localhost:80`, which a URL parser reads as the scheme `localhost:`) is
 * refused when an adapter is given the pool, and never picked when it arrives later
 * through membership changes: the adapter adds it to the set its tries exclude and
 * reports it on the `switchyard:http:unsupported-endpoint` diagnostics channel.
 * @internal
 */

import diagnostics from 'node:diagnostics_channel';
import { UnsupportedEndpointError } from '../../errors.js';
import type { Disposable } from '../../events.js';
import type { Logger } from '../../logger.js';
import type { PoolEndpoint, PoolLike } from '../../pool/types.js';
import { redactCredentials } from '../../validate.js';

/** What is published on {@link unsupportedEndpointChannel}. */
export interface UnsupportedEndpointMessage {
  /** The endpoint that arrived and will never be picked. */
  readonly endpoint: PoolEndpoint;
  /** The error naming it (credentials redacted). */
  readonly error: UnsupportedEndpointError;
}

/**
 * `switchyard:http:unsupported-endpoint`: an endpoint whose scheme the adapter cannot speak
 * joined the pool after the adapter was created ({@link UnsupportedEndpointMessage}).
 */
export const unsupportedEndpointChannel: diagnostics.Channel = diagnostics.channel(
  'switchyard:http:unsupported-endpoint',
);

/** True when the adapters can send requests to `endpoint`. */
export function isHttpEndpoint(endpoint: PoolEndpoint): boolean {
  const protocol = endpoint.parsedUrl.protocol;
  return protocol === 'http:' || protocol === 'https:';
}

/** The error naming an endpoint `owner` cannot speak to. */
export function unsupportedEndpoint(
  owner: string,
  endpoint: PoolEndpoint,
): UnsupportedEndpointError {
  const url = redactCredentials(endpoint.url);
  const id = redactCredentials(endpoint.id);
  const named = id === url ? `"${url}"` : `"${id}" (${url})`;
  return new UnsupportedEndpointError(
    `${owner} cannot send requests to endpoint ${named}: its scheme "${endpoint.parsedUrl.protocol}" is not http: or https:`,
    id,
  );
}

/**
 * The ids of a pool's endpoints that an adapter cannot speak to, kept up to date with
 * membership changes. Checked when the adapter is created: an endpoint it cannot speak to
 * then is a configuration error and throws.
 */
export class EndpointSchemes {
  /** Ids never to pick: empty unless a bad endpoint arrived after creation. */
  readonly unsupported = new Set<string>();
  readonly #subscription: Disposable;

  /**
   * @param logger - told (`warn`) of each endpoint that arrives and will never be picked
   * @throws UnsupportedEndpointError for the first endpoint of `pool` that is not http(s).
   */
  constructor(
    owner: string,
    pool: Pick<PoolLike, 'endpoints' | 'onMembershipChange'>,
    logger?: Logger,
  ) {
    for (const endpoint of pool.endpoints) {
      if (!isHttpEndpoint(endpoint)) throw unsupportedEndpoint(owner, endpoint);
    }
    const unsupported = this.unsupported;
    this.#subscription = pool.onMembershipChange((event) => {
      for (const endpoint of event.removed) unsupported.delete(endpoint.id);
      for (const endpoint of event.added) {
        if (isHttpEndpoint(endpoint)) continue;
        unsupported.add(endpoint.id);
        if (logger !== undefined || unsupportedEndpointChannel.hasSubscribers) {
          const error = unsupportedEndpoint(owner, endpoint);
          if (unsupportedEndpointChannel.hasSubscribers) {
            unsupportedEndpointChannel.publish({ endpoint, error });
          }
          logger?.warn({ endpoint: error.endpoint, err: error }, error.message);
        }
      }
    });
  }

  /** Stops following membership changes. */
  dispose(): void {
    this.#subscription.dispose();
  }
}
