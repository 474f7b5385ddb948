/**
 * PROXY protocol headers, versions 1 and 2, as HAProxy's `proxy-protocol.txt` specifies
 * them (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt): the first bytes the
 * proxy sends to an upstream, telling it the client's address and the address the client
 * connected to.
 * @internal
 */

import { isIPv4, isIPv6 } from 'node:net';
import type { ProxyProtocolVersion } from './tcp-proxy-options.js';
import { clientAddress } from './tcp-target.js';

/** The v2 signature (§2.2): `\r\n\r\n\0\r\nQUIT\n`. */
const V2_SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
/** Version 2, command PROXY. */
const V2_PROXY = 0x21;
/** Version 2, command LOCAL: the receiver uses the connection's own addresses. */
const V2_LOCAL = 0x20;
/** AF_INET, STREAM. */
const V2_TCP4 = 0x11;
/** AF_INET6, STREAM. */
const V2_TCP6 = 0x21;
/** The whole v2 LOCAL header: no address block. */
const V2_LOCAL_HEADER = Buffer.concat([V2_SIGNATURE, Buffer.from([V2_LOCAL, 0x00, 0x00, 0x00])]);
const V1_UNKNOWN = Buffer.from('PROXY UNKNOWN\r\n', 'latin1');

/** The two ends of a client connection, as the accepting socket reports them. */
export interface ConnectionAddresses {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
}

type Family = 4 | 6;

/** Both addresses in one family (an IPv4 one mapped when the other is IPv6), or undefined. */
function normalise(
  c: ConnectionAddresses,
): { family: Family; source: string; destination: string } | undefined {
  let source = clientAddress(c.remoteAddress);
  let destination = clientAddress(c.localAddress);
  if (source === undefined || destination === undefined) return undefined;
  if (c.remotePort === undefined || c.localPort === undefined) return undefined;
  // A zone id (`fe80::1%eth0`) is local to this host: the header carries the address only.
  source = source.replace(/%.*$/, '');
  destination = destination.replace(/%.*$/, '');
  const sourceFamily = isIPv4(source) ? 4 : isIPv6(source) ? 6 : 0;
  const destinationFamily = isIPv4(destination) ? 4 : isIPv6(destination) ? 6 : 0;
  if (sourceFamily === 0 || destinationFamily === 0) return undefined;
  if (sourceFamily === destinationFamily) return { family: sourceFamily, source, destination };
  return {
    family: 6,
    source: sourceFamily === 4 ? `::ffff:${source}` : source,
    destination: destinationFamily === 4 ? `::ffff:${destination}` : destination,
  };
}

/**
 * The v1 header (§2.1): `PROXY TCP4 <src> <dst> <sport> <dport>\r\n`, `TCP6` for IPv6,
 * `PROXY UNKNOWN\r\n` when the addresses are not known (the client already went away).
 */
export function proxyV1(c: ConnectionAddresses): Buffer {
  const n = normalise(c);
  if (n === undefined) return V1_UNKNOWN;
  return Buffer.from(
    `PROXY TCP${n.family} ${n.source} ${n.destination} ${c.remotePort} ${c.localPort}\r\n`,
    'latin1',
  );
}

function writeIPv4(text: string, out: Buffer, offset: number): void {
  const parts = text.split('.');
  for (let i = 0; i < 4; i++) out[offset + i] = Number(parts[i]);
}

/** Writes an IPv6 address's 16 bytes (`::` runs and a trailing dotted IPv4 part expanded). */
export function writeIPv6(text: string, out: Buffer, offset: number): void {
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const result: number[] = [];
    for (const group of part.split(':')) {
      if (group.includes('.')) {
        const b = group.split('.').map(Number);
        result.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
      } else {
        result.push(Number.parseInt(group, 16));
      }
    }
    return result;
  };
  const gap = text.indexOf('::');
  const head = groups(gap < 0 ? text : text.slice(0, gap));
  const tail = gap < 0 ? [] : groups(text.slice(gap + 2));
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  for (let i = 0; i < 8; i++) out.writeUInt16BE(all[i]!, offset + i * 2);
}

/**
 * The v2 header (§2.2): the 12-byte signature, `0x21` (version 2, PROXY), `0x11` (TCP over
 * IPv4) or `0x21` (TCP over IPv6), the address block's length (12 or 36, big-endian), then
 * source address, destination address, source port, destination port. A LOCAL header
 * (`0x20`, family `0x00`, length 0) when the addresses are not known.
 */
export function proxyV2(c: ConnectionAddresses): Buffer {
  const n = normalise(c);
  if (n === undefined) return V2_LOCAL_HEADER;
  const length = n.family === 4 ? 12 : 36;
  const out = Buffer.allocUnsafe(16 + length);
  V2_SIGNATURE.copy(out, 0);
  out[12] = V2_PROXY;
  out[13] = n.family === 4 ? V2_TCP4 : V2_TCP6;
  out.writeUInt16BE(length, 14);
  if (n.family === 4) {
    writeIPv4(n.source, out, 16);
    writeIPv4(n.destination, out, 20);
    out.writeUInt16BE(c.remotePort!, 24);
    out.writeUInt16BE(c.localPort!, 26);
  } else {
    writeIPv6(n.source, out, 16);
    writeIPv6(n.destination, out, 32);
    out.writeUInt16BE(c.remotePort!, 48);
    out.writeUInt16BE(c.localPort!, 50);
  }
  return out;
}

/** The header of `version` for a connection, or undefined for none. */
export function proxyHeader(
  version: ProxyProtocolVersion,
  c: ConnectionAddresses,
): Buffer | undefined {
  if (version === 'v1') return proxyV1(c);
  if (version === 'v2') return proxyV2(c);
  return undefined;
}
