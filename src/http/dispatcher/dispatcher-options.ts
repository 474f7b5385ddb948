import type { Dispatcher } from 'undici';
import { checkFunction, checkNumber, checkOptions } from '../../validate.js';
import { type RetryOptions, RetryPolicy } from '../shared/retry-policy.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  MAX_TIMER_MS,
} from '../shared/timeouts.js';

/**
 * Picks the hash key of an outgoing request, for a hashing selector (`RingHash`, `Maglev`,
 * `Rendezvous`): requests with the same key go to the same endpoint while it is eligible.
 * Return `undefined` for no key. Called once per request.
 */
export type DispatchKey = (options: Dispatcher.DispatchOptions) => string | undefined;

/** Per-request timeouts of {@link balancedInterceptor}; `0` disables one. */
export interface BalancedInterceptorTimeouts {
  /**
   * Time from sending a request to its response headers, per try (undici's
   * `headersTimeout`). A request's own `headersTimeout` wins.
   * @default the composed dispatcher's own (undici: 300_000)
   */
  readonly headersMs?: number;
  /**
   * Longest silence between two chunks of the response body (undici's `bodyTimeout`). A
   * request's own `bodyTimeout` wins.
   * @default the composed dispatcher's own (undici: 300_000)
   */
  readonly idleMs?: number;
}

/** Timeouts of {@link createBalancedDispatcher}; `0` disables one. */
export interface BalancedDispatcherTimeouts {
  /**
   * Time to open a connection to an endpoint, per try. A connect timeout is retried on
   * another endpoint whatever the method: the request never left.
   * @default 2_000
   */
  readonly connectMs?: number;
  /**
   * Time from sending a request to its response headers, per try (undici's
   * `headersTimeout`). A request's own `headersTimeout` wins.
   * @default 30_000
   */
  readonly headersMs?: number;
  /**
   * Longest silence between two chunks of the response body (undici's `bodyTimeout`). A
   * request's own `bodyTimeout` wins.
   * @default 60_000
   */
  readonly idleMs?: number;
}

/** Options of {@link balancedInterceptor}. */
export interface BalancedInterceptorOptions {
  /** Failover: attempts, retried statuses, body buffering, budget — as the proxy's. */
  readonly retry?: RetryOptions;
  /** Per-request timeouts; connection settings belong to the dispatcher composed with. */
  readonly timeouts?: BalancedInterceptorTimeouts;
  /**
   * The hash key of a request, for hashing selectors.
   * @default none
   */
  readonly key?: DispatchKey;
  /**
   * Clock in ms since the epoch, for the retry budget and `Retry-After` dates.
   * @default Date.now
   */
  readonly now?: () => number;
}

/** Options of {@link createBalancedDispatcher}. */
export interface BalancedDispatcherOptions {
  /** Failover: attempts, retried statuses, body buffering, budget — as the proxy's. */
  readonly retry?: RetryOptions;
  /** Connect, headers and idle timeouts. */
  readonly timeouts?: BalancedDispatcherTimeouts;
  /**
   * The hash key of a request, for hashing selectors.
   * @default none
   */
  readonly key?: DispatchKey;
  /**
   * Most connections to one endpoint; `Infinity` for no limit (requests queue in undici
   * beyond it).
   * @default Infinity
   */
  readonly connections?: number;
  /**
   * How long an idle keep-alive connection to an endpoint is kept, ms; a shorter
   * `Keep-Alive: timeout` from the endpoint wins.
   * @default 4_000
   */
  readonly keepAliveTimeoutMs?: number;
  /**
   * Clock in ms since the epoch, for the retry budget and `Retry-After` dates.
   * @default Date.now
   */
  readonly now?: () => number;
}

/** Options shared by both forms, after validation. @internal */
export interface ResolvedBalancerOptions {
  readonly policy: RetryPolicy;
  readonly key: DispatchKey | undefined;
  readonly now: () => number;
  /** Per-request `headersTimeout`, or undefined to leave the dispatcher's. */
  readonly headersMs: number | undefined;
  /** Per-request `bodyTimeout`, or undefined to leave the dispatcher's. */
  readonly idleMs: number | undefined;
}

/** The dispatcher's options after validation. @internal */
export interface ResolvedDispatcherOptions extends ResolvedBalancerOptions {
  readonly connectMs: number;
  readonly poolHeadersMs: number;
  readonly poolIdleMs: number;
  readonly connections: number | null;
  readonly keepAliveTimeoutMs: number;
}

function ms(name: string, value: unknown): number {
  return checkNumber(`timeouts.${name}`, value, { min: 0, max: MAX_TIMER_MS });
}

function common(o: Record<string, unknown>): Omit<ResolvedBalancerOptions, 'headersMs' | 'idleMs'> {
  const now = o.now === undefined ? Date.now : checkFunction<() => number>('now', o.now);
  return {
    policy: new RetryPolicy(o.retry as RetryOptions | undefined, now),
    key: o.key === undefined ? undefined : checkFunction<DispatchKey>('key', o.key),
    now,
  };
}

/**
 * Validates {@link balancedInterceptor}'s options.
 * @throws TypeError or RangeError naming the option and quoting the value.
 * @internal
 */
export function resolveInterceptorOptions(options: unknown): ResolvedBalancerOptions {
  const o = checkOptions('balancedInterceptor', options, ['retry', 'timeouts', 'key', 'now']);
  const t = checkOptions('timeouts', o.timeouts, ['headersMs', 'idleMs']);
  return {
    ...common(o),
    headersMs: t.headersMs === undefined ? undefined : ms('headersMs', t.headersMs),
    idleMs: t.idleMs === undefined ? undefined : ms('idleMs', t.idleMs),
  };
}

/**
 * Validates {@link createBalancedDispatcher}'s options.
 * @throws TypeError or RangeError naming the option and quoting the value.
 * @internal
 */
export function resolveDispatcherOptions(options: unknown): ResolvedDispatcherOptions {
  const o = checkOptions('createBalancedDispatcher', options, [
    'retry',
    'timeouts',
    'key',
    'connections',
    'keepAliveTimeoutMs',
    'now',
  ]);
  const t = checkOptions('timeouts', o.timeouts, ['connectMs', 'headersMs', 'idleMs']);
  const connections = checkNumber(
    'connections',
    o.connections === undefined ? Number.POSITIVE_INFINITY : o.connections,
    { min: 1, integer: true, allowInfinity: true },
  );
  return {
    ...common(o),
    // The endpoint connection pools carry the timeouts: nothing to add per request.
    headersMs: undefined,
    idleMs: undefined,
    connectMs: ms(
      'connectMs',
      t.connectMs === undefined ? DEFAULT_CONNECT_TIMEOUT_MS : t.connectMs,
    ),
    poolHeadersMs: ms(
      'headersMs',
      t.headersMs === undefined ? DEFAULT_HEADERS_TIMEOUT_MS : t.headersMs,
    ),
    poolIdleMs: ms('idleMs', t.idleMs === undefined ? DEFAULT_IDLE_TIMEOUT_MS : t.idleMs),
    connections: connections === Number.POSITIVE_INFINITY ? null : connections,
    keepAliveTimeoutMs: checkNumber(
      'keepAliveTimeoutMs',
      o.keepAliveTimeoutMs === undefined ? DEFAULT_KEEP_ALIVE_TIMEOUT_MS : o.keepAliveTimeoutMs,
      { min: 1 },
    ),
  };
}
