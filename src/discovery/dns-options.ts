import { getServers } from 'node:dns';
import { checkBoolean, checkOptions, checkString, numberOption, quote } from '../validate.js';
import { type DnsServer, parseServer } from './dns-client.js';
import type { DnsRecordType } from './dns-wire.js';
import { nameLabels } from './dns-wire.js';

/** Options of {@link DnsDiscovery}. */
export interface DnsDiscoveryOptions {
  /**
   * The name to look up: `_http._tcp.users.internal` for SRV, `users.internal` for A/AAAA.
   * Required.
   */
  readonly name: string;
  /**
   * Record type. SRV records carry port, weight and priority; A and AAAA need `port`.
   * @defaultValue {@link DEFAULT_DNS_TYPE} (`'SRV'`)
   */
  readonly type?: DnsRecordType;
  /**
   * Port of the endpoints, for A and AAAA (SRV records carry their own; giving it with
   * SRV is an error). An integer from 1 to 65535.
   * @defaultValue none: required for A and AAAA
   */
  readonly port?: number;
  /**
   * Scheme of the endpoint URLs: `http://10.0.0.7:8080`.
   * @defaultValue {@link DEFAULT_DNS_SCHEME} (`'http'`)
   */
  readonly scheme?: string;
  /**
   * DNS servers to ask, in order (the next one after a timeout, SERVFAIL or REFUSED): IP
   * literals with an optional port, `'127.0.0.1:5353'`, `'[::1]:5353'`. SRV targets are
   * resolved through the same servers.
   * @defaultValue the system's resolvers, `dns.getServers()` (from /etc/resolv.conf),
   *   read once at construction and asked by the same client
   */
  readonly servers?: readonly string[];
  /**
   * Shortest time between lookups: a TTL below it (0 included) refreshes this often, and
   * the backoff after a failure starts here. Integer ms ≥ 1.
   * @defaultValue {@link DEFAULT_MIN_REFRESH_MS} (1 000)
   */
  readonly minRefreshMs?: number;
  /**
   * Longest time between lookups: a longer TTL is cut to it, and the backoff stops
   * doubling here. Integer ms ≥ `minRefreshMs`.
   * @defaultValue {@link DEFAULT_MAX_REFRESH_MS} (30 000)
   */
  readonly maxRefreshMs?: number;
  /**
   * Time allowed for one DNS question, shared equally by the servers tried. Ms > 0.
   * @defaultValue {@link DEFAULT_DNS_TIMEOUT_MS} (2 000)
   */
  readonly timeoutMs?: number;
  /**
   * When the name does not exist (NXDOMAIN), empty the pools rather than keep the last
   * good set. Off by default: a zone pushed by mistake must not empty a service.
   * @defaultValue false
   */
  readonly emptyOnNxdomain?: boolean;
  /**
   * Endpoints that leave the DNS answer drain rather than leave at once.
   * @defaultValue {@link DEFAULT_DISCOVERY_DRAIN} (true)
   */
  readonly drain?: boolean;
}

/** Record type looked up when `type` is not given. */
export const DEFAULT_DNS_TYPE: DnsRecordType = 'SRV';
/** Scheme of discovered endpoints when `scheme` is not given. */
export const DEFAULT_DNS_SCHEME = 'http';
/** Shortest time between lookups, in ms. */
export const DEFAULT_MIN_REFRESH_MS = 1_000;
/** Longest time between lookups, in ms. */
export const DEFAULT_MAX_REFRESH_MS = 30_000;
/** Time allowed for one DNS question, in ms. */
export const DEFAULT_DNS_TIMEOUT_MS = 2_000;

/** Resolved options. @internal */
export interface ResolvedDnsOptions {
  readonly name: string;
  readonly type: DnsRecordType;
  readonly port: number | undefined;
  readonly scheme: string;
  readonly servers: readonly DnsServer[];
  readonly minRefreshMs: number;
  readonly maxRefreshMs: number;
  readonly timeoutMs: number;
  readonly emptyOnNxdomain: boolean;
  readonly drain: boolean | undefined;
}

const OWNER = 'DnsDiscovery';
const KEYS = [
  'name',
  'type',
  'port',
  'scheme',
  'servers',
  'minRefreshMs',
  'maxRefreshMs',
  'timeoutMs',
  'emptyOnNxdomain',
  'drain',
];

/** Checks the options of `DnsDiscovery`. @internal */
export function resolveDnsOptions(options: DnsDiscoveryOptions): ResolvedDnsOptions {
  if (options === undefined) throw new TypeError(`${OWNER}: options are required, got undefined`);
  const o = checkOptions(OWNER, options, KEYS);
  const name = checkString('name', o.name, OWNER);
  nameLabels(name, `${OWNER}: name`);
  const type = (o.type ?? DEFAULT_DNS_TYPE) as DnsRecordType;
  if (type !== 'SRV' && type !== 'A' && type !== 'AAAA') {
    throw new TypeError(`${OWNER}: type must be "SRV", "A" or "AAAA", got ${quote(o.type)}`);
  }
  let port: number | undefined;
  if (type === 'SRV') {
    if (o.port !== undefined) {
      throw new TypeError(
        `${OWNER}: port is for A and AAAA lookups (SRV records carry their port), got ${quote(o.port)}`,
      );
    }
  } else {
    if (o.port === undefined) {
      throw new TypeError(`${OWNER}: port is required with type "${type}", got undefined`);
    }
    port = numberOption(o, 'port', 0, { min: 1, max: 65_535, integer: true });
  }
  const scheme =
    o.scheme === undefined ? DEFAULT_DNS_SCHEME : checkString('scheme', o.scheme, OWNER);
  if (!/^[a-z][a-z0-9+.-]*$/i.test(scheme)) {
    throw new TypeError(
      `${OWNER}: scheme must be a URL scheme such as "http", got ${quote(scheme)}`,
    );
  }
  let servers: DnsServer[];
  if (o.servers === undefined) {
    servers = getServers().map((s, i) => parseServer(s, `system DNS server [${i}]`));
    if (servers.length === 0) {
      throw new TypeError(`${OWNER}: the system has no DNS server configured; give servers`);
    }
  } else {
    if (!Array.isArray(o.servers) || o.servers.length === 0) {
      throw new TypeError(`${OWNER}: servers must be a non-empty array, got ${quote(o.servers)}`);
    }
    servers = o.servers.map((s: unknown, i) => parseServer(s, `${OWNER}: servers[${i}]`));
  }
  const minRefreshMs = numberOption(o, 'minRefreshMs', DEFAULT_MIN_REFRESH_MS, {
    min: 1,
    integer: true,
  });
  const maxRefreshMs = numberOption(o, 'maxRefreshMs', DEFAULT_MAX_REFRESH_MS, {
    min: 1,
    max: 2 ** 31 - 1,
    integer: true,
  });
  if (minRefreshMs > maxRefreshMs) {
    throw new RangeError(
      `${OWNER}: minRefreshMs must be <= maxRefreshMs, got minRefreshMs ${minRefreshMs} and maxRefreshMs ${maxRefreshMs}`,
    );
  }
  const timeoutMs = numberOption(o, 'timeoutMs', DEFAULT_DNS_TIMEOUT_MS, {
    min: 0,
    minExclusive: true,
    max: 2 ** 31 - 1,
  });
  const emptyOnNxdomain =
    o.emptyOnNxdomain === undefined
      ? false
      : checkBoolean('emptyOnNxdomain', o.emptyOnNxdomain, OWNER);
  const drain = o.drain === undefined ? undefined : checkBoolean('drain', o.drain, OWNER);
  return {
    name,
    type,
    port,
    scheme: scheme.toLowerCase(),
    servers,
    minRefreshMs,
    maxRefreshMs,
    timeoutMs,
    emptyOnNxdomain,
    drain,
  };
}
