/**
 * One factory per kind of part that `switchyard serve` builds from the config: HTTP and
 * TCP listeners, DNS discovery and the dashboard. The runtime only talks to the small
 * interfaces below, so a kind is wired in one function here.
 * @internal
 */
import type {
  DashboardConfig,
  DnsDiscoveryConfig,
  HttpListenerConfig,
  ListenerConfig,
  TcpListenerConfig,
} from '../../config/index.js';
import type { DashboardMonitor, DashboardPool } from '../../dashboard/options.js';
import { DnsDiscovery } from '../../discovery/index.js';
import type { Disposable } from '../../events.js';
import type { Pool } from '../../index.js';
import { DashboardServer } from './dashboard-server.js';
import { HttpListener } from './http-listener.js';
import type { Logger } from './logger.js';
import { dnsDiscoveryOptions, type SecretSource } from './options.js';
import { TcpListener } from './tcp-listener.js';

/** A running listener of any protocol. */
export interface ListenerRuntime {
  /** Starts accepting on `listen`; resolves with the address bound (the port filled in). */
  listen(listen: string): Promise<string>;
  /**
   * Points the listener at `pool` with the options of `config` (same protocol and address).
   * Open connections stay; work in flight finishes where it started (`close` waits for it
   * too). Resolves once new work takes the new pool; never rejects.
   */
  update(config: ListenerConfig, pool: Pool): Promise<void>;
  /**
   * Stops accepting at once, lets work in flight finish for up to `drainMs`, then cuts
   * what is left. Resolves with `true` when nothing had to be cut. Idempotent.
   */
  close(drainMs: number): Promise<boolean>;
}

/** A running discovery source feeding one pool. */
export interface DiscoveryRuntime {
  /** Starts feeding the pool (`discovery.attach(pool)`). */
  start(): void;
  /** Stops looking up; the pool keeps its last endpoints. */
  close(): Promise<void>;
}

/** What the dashboard shows. */
export interface DashboardTargets {
  /** The pools by name. */
  readonly pools: ReadonlyMap<string, DashboardPool>;
  /** The health monitors of the pools that have one. */
  readonly monitors: readonly DashboardMonitor[];
}

/** The running dashboard. */
export interface DashboardRuntime {
  /** Starts serving on `listen`; resolves with the address bound. */
  listen(listen: string): Promise<string>;
  /** Shows another set of pools (after a reload). */
  update(targets: DashboardTargets): void;
  /** As {@link ListenerRuntime.close}. */
  close(drainMs: number): Promise<boolean>;
}

/** An HTTP listener: `http.createServer` + `createProxyHandler` (+ upgrades). */
export function createHttpListener(
  config: HttpListenerConfig,
  pool: Pool,
  log: Logger,
  name: string,
  env?: SecretSource,
): ListenerRuntime {
  return new HttpListener(config, pool, log, name, env) as ListenerRuntime;
}

/**
 * A TCP listener: `createTcpProxy(pool, { proxyProtocol, connectTimeoutMs, idleTimeoutMs,
 * attempts, affinity })` bound to the address; a new pool or new options take a new proxy
 * on the same address while the old one drains for up to `drainMs`.
 */
export function createTcpListener(
  config: TcpListenerConfig,
  pool: Pool,
  log: Logger,
  name: string,
  drainMs: number,
): ListenerRuntime {
  return new TcpListener(config, pool, log, name, drainMs) as ListenerRuntime;
}

/**
 * DNS discovery: `new DnsDiscovery(config)` with failed lookups logged as warnings (the
 * pool keeps its last good set); `start()` is `discovery.attach(pool)` (a reload builds it
 * first and attaches it only once nothing else can fail); `close()` detaches and closes it.
 */
export function createDnsDiscovery(
  config: DnsDiscoveryConfig,
  pool: Pool,
  log: Logger,
  poolName: string,
): DiscoveryRuntime {
  const discovery = new DnsDiscovery(dnsDiscoveryOptions(config));
  const errors = discovery.onError((error) =>
    log.warn(
      { pool: poolName, name: config.name, error },
      'discovery lookup failed; the pool keeps its endpoints',
    ),
  );
  let attached: Disposable | undefined;
  return {
    start: () => {
      attached ??= discovery.attach(pool);
    },
    close: async () => {
      attached?.[Symbol.dispose]();
      errors[Symbol.dispose]();
      await discovery.close();
    },
  };
}

/**
 * The dashboard: `createDashboard({ pools, monitors, admin: { token } })` served by
 * `http.createServer` on `config.listen`; `update` swaps in a dashboard over the new pools.
 */
export function createDashboard(
  _config: DashboardConfig,
  token: string | undefined,
  targets: DashboardTargets,
  log: Logger,
): DashboardRuntime {
  return new DashboardServer(token, targets, log);
}
