/**
 * Where a TCP connection goes for an endpoint: the host and port of a `tcp://host:port`
 * URL, or of an `http://` one (port 80 when it has none). Anything else is refused with an
 * error that names the endpoint with its credentials redacted.
 * @internal
 */

import { quote } from '../validate.js';

/** A connectable target, or why the endpoint is not one. */
export type TcpTarget =
  | { readonly url: string; readonly host: string; readonly port: number; readonly error?: never }
  | { readonly url: string; readonly error: TypeError };

/** The endpoint's URL with any user name and password replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return url;
    if (parsed.username !== '') parsed.username = '***';
    if (parsed.password !== '') parsed.password = '***';
    const href = parsed.href;
    // Keep the form the pool gave (it drops a lone trailing `/`).
    return href.endsWith('/') && !url.endsWith('/') ? href.slice(0, -1) : href;
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/** Resolves an endpoint URL to a host and port; never throws. */
export function resolveTcpTarget(url: string, parsed: URL): TcpTarget {
  const fail = (why: string): TcpTarget => ({
    url,
    error: new TypeError(
      `endpoint ${quote(redactUrl(url))} cannot be reached over TCP: ${why} (use tcp://host:port)`,
    ),
  });
  const scheme = parsed.protocol;
  if (scheme !== 'tcp:' && scheme !== 'http:') {
    return fail(`the scheme ${quote(scheme.slice(0, -1))} is not tcp or http`);
  }
  // URL keeps IPv6 literals bracketed; sockets want them bare.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') return fail('it has no host');
  const port = parsed.port === '' ? (scheme === 'http:' ? 80 : 0) : Number(parsed.port);
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
