import { isIPv6 } from 'node:net';

/** A listen address of the config, parsed: `host:port` or `[v6]:port`. */
export interface ListenAddress {
  /** The host to bind, IPv6 literals without brackets. */
  readonly host: string;
  /** The port; 0 asks the system for a free one. */
  readonly port: number;
}

// A DNS name (RFC 1123 labels) or an IPv4 literal; IPv6 literals come bracketed.
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/**
 * Parses `127.0.0.1:8080`, `localhost:8080`, `0.0.0.0:80` or `[::1]:8080`.
 * @returns the address, or a message saying what is wrong with `text`.
 */
export function parseListenAddress(text: string): ListenAddress | string {
  const match = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  if (match === null) return 'must be "host:port" or "[ipv6]:port"';
  const port = Number(match[3]);
  if (port > 65_535) return 'port must be an integer from 0 to 65535';
  if (match[1] !== undefined) {
    if (!isIPv6(match[1])) return 'must hold an IPv6 address between the brackets';
    return { host: match[1], port };
  }
  const host = match[2]!;
  if (!HOSTNAME.test(host)) return 'must start with a host name or an IPv4 address';
  return { host, port };
}

/** `host:port` again, IPv6 bracketed: how logs and errors name a listener. */
export function formatListenAddress(address: ListenAddress): string {
  return isIPv6(address.host)
    ? `[${address.host}]:${address.port}`
    : `${address.host}:${address.port}`;
}
