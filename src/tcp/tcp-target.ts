/**
 * Where a TCP connection goes for an endpoint: the host and port of a `tcp://host:port`
 * URL, or of an `http://` one (port 80 when it has none). Anything else is refused with an
 * `UnsupportedEndpointError` that names the endpoint with its credentials redacted.
 * @internal
 */

import { UnsupportedEndpointError } from '../errors.js';
import type { PoolEndpoint } from '../pool/types.js';
import { redactCredentials } from '../validate.js';

/** A connectable target, or why the endpoint is not one. */
export type TcpTarget =
  | { readonly url: string; readonly host: string; readonly port: number; readonly error?: never }
  | { readonly url: string; readonly error: UnsupportedEndpointError };

/** Resolves an endpoint's URL to a host and port; never throws. */
export function resolveTcpTarget(endpoint: PoolEndpoint): TcpTarget {
  const { url, parsedUrl } = endpoint;
  const fail = (why: string): TcpTarget => {
    const redactedUrl = redactCredentials(url);
    const id = redactCredentials(endpoint.id);
    const named = id === redactedUrl ? `"${redactedUrl}"` : `"${id}" (${redactedUrl})`;
    return {
      url,
      error: new UnsupportedEndpointError(
        `createTcpProxy cannot connect to endpoint ${named}: ${why} (use tcp://host:port)`,
        id,
      ),
    };
  };
  const scheme = parsedUrl.protocol;
  if (scheme !== 'tcp:' && scheme !== 'http:') {
    return fail(`its scheme "${scheme}" is not tcp: or http:`);
  }
  // URL keeps IPv6 literals bracketed; sockets want them bare.
  const host = parsedUrl.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') return fail('it has no host');
  const port = parsedUrl.port === '' ? (scheme === 'http:' ? 80 : 0) : Number(parsedUrl.port);
  if (!(port >= 1 && port <= 65_535)) return fail('it has no port');
  return { url, host, port };
}

/**
 * The client address as Node reports it, IPv4-mapped IPv6 unmapped (`::ffff:10.0.0.1` →
 * `10.0.0.1`), so a dual-stack listener and an IPv4 one give the same key.
 */
export function clientAddress(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  return address.length > 7 && address.startsWith('::ffff:') && address.includes('.', 7)
    ? address.slice(7)
    : address;
}
