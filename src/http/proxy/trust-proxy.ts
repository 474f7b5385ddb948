/**
 * Which clients of the proxy are proxies themselves, whose `X-Forwarded-*` headers are to
 * be believed — `trustProxy`, with the forms of Express's `trust proxy` — and who the
 * client is behind them: the rightmost address of `X-Forwarded-For` that is not a trusted
 * proxy (what a client cannot forge, since each trusted proxy appends the address it saw).
 * @internal
 */

import { BlockList, isIP } from 'node:net';
import { quote } from '../../validate.js';

/**
 * `trustProxy`: which peers are proxies whose forwarding headers are believed.
 * - `false`: none (the default);
 * - `true`: every peer, and the client is the leftmost `X-Forwarded-For` address (which
 *   any client can write: only behind a proxy that replaces the header);
 * - a hop count `n`: the `n` nearest hops (the peer is hop 0);
 * - addresses and CIDRs, as an array or a comma-separated string (`'10.0.0.0/8, ::1'`),
 *   with Express's names `loopback`, `linklocal` and `uniquelocal`;
 * - a function `(address, hop) => boolean`.
 */
export type TrustProxy =
  | boolean
  | number
  | string
  | readonly string[]
  | ((address: string, hop: number) => boolean);

const NAMED: Readonly<Record<string, readonly string[]>> = {
  loopback: ['127.0.0.1/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** The resolved `trustProxy`. */
export class ProxyTrust {
  /** `true`: every hop is trusted (the client is the leftmost address). */
  readonly all: boolean;
  /** No hop is trusted. */
  readonly none: boolean;
  readonly #hops: number;
  readonly #list: BlockList | undefined;
  readonly #fn: ((address: string, hop: number) => boolean) | undefined;

  /** @throws TypeError or RangeError naming `trustProxy` and quoting the value. */
  constructor(value: unknown) {
    this.all = value === true;
    this.none = value === false || value === undefined || value === 0;
    this.#hops = 0;
    if (typeof value === 'boolean' || value === undefined) return;
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value) || value < 0) {
        throw new RangeError(
          `trustProxy must be a hop count (an integer >= 0), got ${quote(value)}`,
        );
      }
      this.#hops = value;
      return;
    }
    if (typeof value === 'function') {
      this.#fn = value as (address: string, hop: number) => boolean;
      return;
    }
    const entries =
      typeof value === 'string'
        ? value.split(',')
        : Array.isArray(value) && value.every((v) => typeof v === 'string')
          ? (value as string[])
          : undefined;
    if (entries === undefined) {
      throw new TypeError(
        `trustProxy must be a boolean, a hop count, addresses/CIDRs or a function, got ${quote(value)}`,
      );
    }
    const list = new BlockList();
    for (const raw of entries) {
      const entry = raw.trim();
      for (const subnet of NAMED[entry] ?? [entry]) addSubnet(list, subnet, value);
    }
    this.#list = list;
  }

  /** Whether the address at `hop` (0: the peer) is a trusted proxy. */
  trusts(address: string | undefined, hop: number): boolean {
    if (this.all) return true;
    if (this.none || address === undefined) return false;
    if (this.#fn !== undefined) {
      try {
        return this.#fn(address, hop) === true;
      } catch {
        return false;
      }
    }
    const list = this.#list;
    if (list === undefined) return hop < this.#hops;
    const plain = unmapped(address);
    const family = isIP(plain);
    return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * The client's address behind trusted proxies: walking `X-Forwarded-For` from the right,
   * the first address that is not a trusted proxy (the leftmost if all are); the peer when
   * it is not trusted itself.
   */
  client(peer: string | undefined, forwardedFor: string | undefined): string | undefined {
    if (forwardedFor === undefined || !this.trusts(peer, 0)) return peer;
    const hops = forwardedFor.split(',');
    if (this.all) return hops[0]!.trim() || peer;
    let client = peer;
    for (let i = hops.length - 1, hop = 1; i >= 0; i--, hop++) {
      const address = hops[i]!.trim();
      if (address === '') continue;
      client = address;
      if (!this.trusts(address, hop)) return address;
    }
    return client;
  }
}

function addSubnet(list: BlockList, subnet: string, value: unknown): void {
  const slash = subnet.indexOf('/');
  const address = unmapped(slash === -1 ? subnet : subnet.slice(0, slash));
  const family = isIP(address);
  const max = family === 4 ? 32 : 128;
  const prefix = slash === -1 ? max : Number(subnet.slice(slash + 1));
  if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw new TypeError(
      `trustProxy must list IP addresses or CIDRs, got ${quote(subnet)} in ${quote(value)}`,
    );
  }
  list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
}

/** `::ffff:10.0.0.1` (how a dual-stack server sees IPv4 peers) as `10.0.0.1`. */
function unmapped(address: string): string {
  return address.length > 7 && address.startsWith('::ffff:') && address.includes('.')
    ? address.slice(7)
    : address;
}
