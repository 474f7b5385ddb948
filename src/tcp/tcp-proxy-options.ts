import { checkNumber, checkOptions, quote } from '../validate.js';

/** Default `connectTimeoutMs`: 2 s per attempt, as the HTTP proxy's `timeouts.connectMs`. */
export const DEFAULT_TCP_CONNECT_TIMEOUT_MS = 2_000;
/** Default `attempts`: 3 tries, each on an endpoint not tried yet. */
export const DEFAULT_TCP_ATTEMPTS = 3;
/** Default `idleTimeoutMs`: 5 minutes without a byte either way (HAProxy's `timeout tunnel` territory). */
export const DEFAULT_TCP_IDLE_TIMEOUT_MS = 300_000;
/** Default `drainMs` of `close()`: open connections get 30 s to finish. */
export const DEFAULT_TCP_DRAIN_MS = 30_000;

/** Longest delay a Node timer takes (2³¹ − 1 ms); a larger one would fire at once. */
const TIMER_MAX = 2_147_483_647;

/**
 * Which PROXY protocol header the proxy sends to the upstream first, so the backend learns
 * the client's address: `'v1'` (text) or `'v2'` (binary), as HAProxy's
 * `proxy-protocol.txt` specifies them; `false` for none.
 */
export type ProxyProtocolVersion = false | 'v1' | 'v2';

/** Session affinity of the TCP proxy: the client address is the hashing selectors' key. */
export interface TcpAffinityOptions {
  /** Sticky by client IP (IPv4-mapped IPv6 addresses are unmapped: `::ffff:10.0.0.1` → `10.0.0.1`). */
  readonly by: 'ip';
}

/**
 * Options of `createTcpProxy`. Every duration is in milliseconds and at most 2³¹ − 1.
 *
 * @example
 * ```ts
 * const options: TcpProxyOptions = { connectTimeoutMs: 1_000, attempts: 2, proxyProtocol: 'v2' };
 * ```
 */
export interface TcpProxyOptions {
  /**
   * Time to open a connection to an endpoint, per attempt; when it passes, the next
   * attempt goes to another endpoint. `0` leaves it to the operating system.
   * @default 2_000
   */
  readonly connectTimeoutMs?: number;
  /**
   * Connect attempts per client connection, each on an endpoint not tried yet, so at most
   * the number of eligible endpoints. Only a connection that never reached an upstream
   * (refused, timed out, unreachable) moves on; once connected it stays.
   * @default 3
   */
  readonly attempts?: number;
  /**
   * No byte either way for this long and both sides are closed. `0` turns it off. Checked
   * by one sweep per proxy every `idleTimeoutMs / 8` (between 10 ms and 5 s), so a
   * connection closes after at least this much silence and at most two sweeps more.
   * @default 300_000
   */
  readonly idleTimeoutMs?: number;
  /**
   * A PROXY protocol header (`'v1'` text, `'v2'` binary) written to the upstream before any
   * client byte, carrying the client's and the proxy's addresses.
   * @default false
   */
  readonly proxyProtocol?: ProxyProtocolVersion;
  /**
   * `{ by: 'ip' }`: the client address is the pick key, so a hashing selector (`RingHash`,
   * `Maglev`, `Rendezvous`) sends each client to the same endpoint while it is eligible.
   * @default undefined (no key)
   */
  readonly affinity?: TcpAffinityOptions;
}

/** Options of the TCP proxy's `close()`. */
export interface TcpProxyCloseOptions {
  /**
   * How long open connections may go on after `close()` before they are reset. `0` resets
   * them at once; `Infinity` waits for them all.
   * @default 30_000
   */
  readonly drainMs?: number;
}

/** The options after validation and defaults. @internal */
export interface ResolvedTcpProxyOptions {
  readonly connectTimeoutMs: number;
  readonly attempts: number;
  readonly idleTimeoutMs: number;
  readonly proxyProtocol: ProxyProtocolVersion;
  readonly affinity: boolean;
}

const KNOWN = ['connectTimeoutMs', 'attempts', 'idleTimeoutMs', 'proxyProtocol', 'affinity'];

function ms(o: Readonly<Record<string, unknown>>, key: string, fallback: number): number {
  const value = o[key];
  return value === undefined ? fallback : checkNumber(key, value, { min: 0, max: TIMER_MAX });
}

/**
 * Validates the options of `createTcpProxy` and resolves their defaults.
 * @throws TypeError or RangeError naming the option and quoting the value.
 * @internal
 */
export function resolveTcpProxyOptions(options: unknown): ResolvedTcpProxyOptions {
  const o = checkOptions('createTcpProxy', options, KNOWN);
  const proxyProtocol = o.proxyProtocol ?? false;
  if (proxyProtocol !== false && proxyProtocol !== 'v1' && proxyProtocol !== 'v2') {
    throw new TypeError(`proxyProtocol must be false, "v1" or "v2", got ${quote(proxyProtocol)}`);
  }
  let affinity = false;
  if (o.affinity !== undefined) {
    const a = checkOptions('affinity', o.affinity, ['by']);
    if (a.by !== 'ip') throw new TypeError(`affinity.by must be "ip", got ${quote(a.by)}`);
    affinity = true;
  }
  return {
    connectTimeoutMs: ms(o, 'connectTimeoutMs', DEFAULT_TCP_CONNECT_TIMEOUT_MS),
    attempts:
      o.attempts === undefined
        ? DEFAULT_TCP_ATTEMPTS
        : checkNumber('attempts', o.attempts, { min: 1, max: 1_000, integer: true }),
    idleTimeoutMs: ms(o, 'idleTimeoutMs', DEFAULT_TCP_IDLE_TIMEOUT_MS),
    proxyProtocol,
    affinity,
  };
}

/**
 * Validates the options of the proxy's `close()`; returns `drainMs`.
 * @throws TypeError or RangeError naming the option and quoting the value.
 * @internal
 */
export function resolveDrainMs(options: unknown): number {
  const o = checkOptions('close', options, ['drainMs']);
  if (o.drainMs === undefined) return DEFAULT_TCP_DRAIN_MS;
  const drainMs = checkNumber('drainMs', o.drainMs, { min: 0, allowInfinity: true });
  if (drainMs !== Number.POSITIVE_INFINITY && drainMs > TIMER_MAX) {
    throw new RangeError(
      `drainMs must be a finite number >= 0 and <= ${TIMER_MAX}, or Infinity, got ${quote(drainMs)}`,
    );
  }
  return drainMs;
}
