import type { HealthMonitor } from '../health/health-monitor.js';
import type { Pool } from '../pool/pool.js';
import { checkOptions, functionOption, numberOption, quote } from '../validate.js';

/** Seconds between two `snapshot` events of `/api/events`: 1 s. */
export const DEFAULT_SNAPSHOT_INTERVAL_MS = 1_000;
/** A comment line on every event stream this often, so proxies keep it open: 15 s. */
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** Open event streams at once; more are answered 503: 100. */
export const DEFAULT_MAX_EVENT_STREAMS = 100;
/** State changes kept for streams that (re)connect: the last 200. */
export const DEFAULT_STATE_HISTORY = 200;
/** Shortest admin token accepted, in characters. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/** The pool name used with the `pool` option. */
export const DEFAULT_POOL_NAME = 'default';

/** What the dashboard needs of a pool: a `Pool`. */
export type DashboardPool = Pick<
  Pool,
  | 'snapshot'
  | 'latencyHistogram'
  | 'onStateChange'
  | 'get'
  | 'drain'
  | 'disable'
  | 'enable'
  | 'closed'
>;

/** What the dashboard needs of a health monitor: a `HealthMonitor`. */
export type DashboardMonitor = Pick<HealthMonitor, 'pool' | 'status'>;

/**
 * Options of {@link createDashboard}.
 *
 * @example
 * ```ts
 * const dashboard = createDashboard({
 *   pools: { app: appPool, db: dbPool },
 *   monitors: [appMonitor],
 *   admin: { token: process.env.SWITCHYARD_ADMIN_TOKEN! },
 * });
 * ```
 */
export interface DashboardOptions {
  /**
   * The pools to show, by name (the name is the `pool` label of the metrics and the
   * `:pool` of the admin routes). Give `pools` or `pool`, not both.
   * @default undefined
   */
  readonly pools?: Readonly<Record<string, DashboardPool>>;
  /** One pool, shown under the name `default`. @default undefined */
  readonly pool?: DashboardPool;
  /**
   * Health monitors of those pools: each endpoint's last check result on the page and in
   * the snapshot, and `switchyard_health_checks_total`. Each must check one of the pools.
   * @default []
   */
  readonly monitors?: readonly DashboardMonitor[];
  /**
   * Enables the admin routes (drain, disable, enable) for requests carrying
   * `Authorization: Bearer <token>`. Without it the dashboard is read-only and those routes
   * answer 404. The token must be at least 16 characters; use a long random one (see the
   * dashboard guide).
   * @default undefined (read-only)
   */
  readonly admin?: {
    /** The bearer token admin requests must carry: 16 characters or more, no white space. */
    readonly token: string;
  };
  /**
   * The wall clock, in ms since the epoch: the `time` of snapshots and state events.
   * @default Date.now
   */
  readonly now?: () => number;
  /** Time between two `snapshot` events on `/api/events`, in ms (≥ 100). @default 1_000 */
  readonly snapshotIntervalMs?: number;
  /** Time between two heartbeat comments on `/api/events`, in ms (≥ 1 000). @default 15_000 */
  readonly heartbeatMs?: number;
  /** Event streams open at once; one more is answered 503. @default 100 */
  readonly maxEventStreams?: number;
}

const KEYS = [
  'pools',
  'pool',
  'monitors',
  'admin',
  'now',
  'snapshotIntervalMs',
  'heartbeatMs',
  'maxEventStreams',
] as const;

const POOL_METHODS = ['snapshot', 'latencyHistogram', 'onStateChange', 'get', 'drain'] as const;

/** Options after validation and defaults. @internal */
export interface ResolvedDashboardOptions {
  readonly pools: ReadonlyMap<string, DashboardPool>;
  /** Monitors by the name of the pool they check. */
  readonly monitors: ReadonlyMap<string, readonly DashboardMonitor[]>;
  readonly token: string | undefined;
  readonly now: () => number;
  readonly snapshotIntervalMs: number;
  readonly heartbeatMs: number;
  readonly maxEventStreams: number;
}

/**
 * Validates the dashboard's options and applies defaults.
 * @throws TypeError or RangeError naming the option (never quoting the admin token).
 * @internal
 */
export function resolveDashboardOptions(options: DashboardOptions): ResolvedDashboardOptions {
  if (options === undefined) {
    throw new TypeError('createDashboard() needs options with pools or pool');
  }
  const o = checkOptions('createDashboard', options, KEYS);
  if ((o.pools === undefined) === (o.pool === undefined)) {
    throw new TypeError('createDashboard() needs exactly one of pools and pool');
  }
  const pools = new Map<string, DashboardPool>();
  if (o.pool !== undefined) {
    pools.set(DEFAULT_POOL_NAME, checkPool(o.pool, 'pool'));
  } else {
    const given = o.pools;
    if (typeof given !== 'object' || given === null || Array.isArray(given)) {
      throw new TypeError(`pools must be an object of pools by name, got ${quote(given)}`);
    }
    for (const [name, pool] of Object.entries(given)) {
      if (name === '') throw new TypeError('pools: a pool name must not be empty');
      pools.set(name, checkPool(pool, `pools[${quote(name)}]`));
    }
    if (pools.size === 0) throw new TypeError('pools must hold at least one pool');
  }
  return {
    pools,
    monitors: resolveMonitors(o.monitors, pools),
    token: resolveToken(o.admin),
    now: functionOption(o, 'now', Date.now),
    snapshotIntervalMs: numberOption(o, 'snapshotIntervalMs', DEFAULT_SNAPSHOT_INTERVAL_MS, {
      min: 100,
    }),
    heartbeatMs: numberOption(o, 'heartbeatMs', DEFAULT_HEARTBEAT_MS, { min: 1_000 }),
    maxEventStreams: numberOption(o, 'maxEventStreams', DEFAULT_MAX_EVENT_STREAMS, {
      min: 0,
      integer: true,
    }),
  };
}

function checkPool(pool: unknown, where: string): DashboardPool {
  const p = pool as Record<string, unknown> | null;
  if (typeof p !== 'object' || p === null || POOL_METHODS.some((m) => typeof p[m] !== 'function')) {
    throw new TypeError(`${where} must be a Pool, got ${quote(pool)}`);
  }
  return p as unknown as DashboardPool;
}

function resolveMonitors(
  given: unknown,
  pools: ReadonlyMap<string, DashboardPool>,
): ReadonlyMap<string, readonly DashboardMonitor[]> {
  const byPool = new Map<string, DashboardMonitor[]>();
  if (given === undefined) return byPool;
  if (!Array.isArray(given)) {
    throw new TypeError(`monitors must be an array of HealthMonitor, got ${quote(given)}`);
  }
  given.forEach((monitor: unknown, i) => {
    const m = monitor as Partial<DashboardMonitor> | null;
    if (typeof m !== 'object' || m === null || typeof m.status !== 'function' || !m.pool) {
      throw new TypeError(`monitors[${i}] must be a HealthMonitor, got ${quote(monitor)}`);
    }
    const name = [...pools].find(([, pool]) => (pool as unknown) === m.pool)?.[0];
    if (name === undefined) {
      throw new TypeError(`monitors[${i}] checks a pool that is not among the dashboard's pools`);
    }
    byPool.set(name, [...(byPool.get(name) ?? []), m as DashboardMonitor]);
  });
  return byPool;
}

function resolveToken(admin: unknown): string | undefined {
  if (admin === undefined) return undefined;
  const a = checkOptions('admin', admin, ['token']);
  const token = a.token;
  // The message never quotes the token: it is a secret, and error messages end up in logs.
  if (typeof token !== 'string') {
    throw new TypeError(`admin.token must be a string, got ${typeof token}`);
  }
  if (token.length < MIN_ADMIN_TOKEN_LENGTH || token.trim() !== token || /\s/.test(token)) {
    throw new RangeError(
      `admin.token must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters without white space, got ${token.length} characters`,
    );
  }
  return token;
}
