import {
  type DashboardConfig,
  formatListenAddress,
  type ListenerConfig,
  parseListenAddress,
  type SwitchyardConfig,
} from '../../config/index.js';
import type { HealthMonitor, Pool } from '../../index.js';
import {
  createDashboard,
  createHttpListener,
  createTcpListener,
  type DashboardRuntime,
  type DashboardTargets,
  type ListenerRuntime,
} from './factories.js';
import type { Logger } from './logger.js';
import { PoolRuntime, type PreparedUpdate, same } from './pool-runtime.js';

/** Where the runtime reads secrets (`dashboard.admin.tokenEnv`). */
export type Environment = Readonly<Record<string, string | undefined>>;

interface Listener {
  readonly config: ListenerConfig;
  readonly runtime: ListenerRuntime;
  /** The pool object it forwards to. */
  readonly pool: Pool;
  /** What logs call it: `http 127.0.0.1:8080`. */
  readonly name: string;
}

interface Dashboard {
  readonly config: DashboardConfig;
  readonly runtime: DashboardRuntime;
}

/**
 * What `switchyard serve` runs: the pools, listeners and dashboard of a config, and how a
 * new config is applied to them. Starting is applying a config to an empty runtime, so a
 * reload and the start take the same path.
 *
 * A reload is all or nothing: everything that can fail (building a pool, a selector, a
 * health check, a listener; binding a new address) happens first, and a failure undoes it
 * and leaves the running config as it was. Then the changes are applied in place: pools
 * through `setEndpoints` (endpoints that stay keep their state and counters), a new
 * selector or health check replacing the old one; listeners opened, closed (draining) or
 * pointed at another pool with their connections kept.
 * @internal
 */
export class ServeRuntime {
  readonly #log: Logger;
  readonly #env: Environment;
  #pools = new Map<string, PoolRuntime>();
  #listeners = new Map<string, Listener>();
  #dashboard: Dashboard | undefined;
  /** Closing of parts a reload removed: shutdown waits for it too. */
  readonly #retiring = new Set<Promise<unknown>>();
  /** Pools a reload removed or replaced, closed after the drain time. */
  readonly #retiredPools = new Set<PoolRuntime>();
  #drainMs: number;
  readonly #hooks: RuntimeHooks;

  constructor(log: Logger, env: Environment, drainMs: number, hooks: RuntimeHooks = {}) {
    this.#log = log;
    this.#env = env;
    this.#drainMs = drainMs;
    this.#hooks = hooks;
  }

  /** The pools by name (for tests and the dashboard). */
  get pools(): ReadonlyMap<string, Pool> {
    return new Map([...this.#pools].map(([name, p]) => [name, p.pool]));
  }

  /** The pool runtimes by name (`serve --workers`: the primary's view of its pools). */
  get poolRuntimes(): ReadonlyMap<string, PoolRuntime> {
    return this.#pools;
  }

  /** Applies `config`: the first call starts everything, later ones reload. */
  async apply(config: SwitchyardConfig): Promise<void> {
    const log = this.#log;
    const created: PoolRuntime[] = [];
    const opened: Listener[] = [];
    let dashboard: Dashboard | undefined;
    const updates: Array<[string, PreparedUpdate]> = [];
    const nextPools = new Map<string, PoolRuntime>();
    let retargeted: Promise<void>[] = [];
    try {
      // 1. Pools: built new (new name, or settings only a new Pool takes), else prepared.
      for (const [name, poolConfig] of Object.entries(config.pools)) {
        const current = this.#pools.get(name);
        if (current?.canUpdate(poolConfig)) {
          updates.push([name, current.prepare(poolConfig)]);
          nextPools.set(name, current);
        } else {
          const runtime = new PoolRuntime(name, poolConfig, log);
          created.push(runtime);
          nextPools.set(name, runtime);
          this.#hooks.poolCreated?.(name, runtime.pool);
        }
      }
      // 2. New listeners, bound before anything running changes.
      const keep = new Set<string>();
      for (const listenerConfig of config.listeners ?? []) {
        const key = keyOf(listenerConfig);
        keep.add(key);
        if (this.#listeners.has(key)) continue;
        this.#freeAddress(listenerConfig);
        const pool = nextPools.get(listenerConfig.pool)!.pool;
        const name = `${listenerConfig.protocol} ${listenerConfig.listen}`;
        const runtime =
          listenerConfig.protocol === 'http'
            ? createHttpListener(listenerConfig, pool, log, name, this.#env)
            : createTcpListener(listenerConfig, pool, log, name, this.#drainMs);
        const listener = { config: listenerConfig, runtime, pool, name };
        opened.push(listener);
        const bound = await runtime.listen(listenerConfig.listen);
        log.info({ listener: name, address: bound, pool: listenerConfig.pool }, 'listening');
      }
      // 3. The dashboard, when it is new or moved.
      if (config.dashboard && !same(config.dashboard, this.#dashboard?.config)) {
        const tokenEnv = config.dashboard.admin?.tokenEnv;
        const token = tokenEnv === undefined ? undefined : this.#env[tokenEnv];
        if (tokenEnv !== undefined && !token) {
          throw new Error(
            `dashboard.admin.tokenEnv: the environment variable ${tokenEnv} is not set`,
          );
        }
        if (this.#dashboard && this.#dashboard.config.listen === config.dashboard.listen) {
          await this.#dashboard.runtime.close(0);
        }
        const runtime = createDashboard(config.dashboard, token, this.#targets(nextPools), log);
        dashboard = { config: config.dashboard, runtime };
        const bound = await runtime.listen(config.dashboard.listen);
        log.info({ address: bound }, 'dashboard listening');
      }

      // Nothing can fail from here on: commit.
      for (const [pool, update] of updates) {
        const changes = update.commit();
        if (changes.length > 0) log.info({ pool, changes }, 'pool updated');
      }
      this.#commitPools(nextPools, created);
      retargeted = this.#commitListeners(config, keep, opened, nextPools);
      this.#commitDashboard(config, dashboard, nextPools);
    } catch (error) {
      for (const [, update] of updates) update.abort();
      await Promise.allSettled([
        ...opened.map((l) => l.runtime.close(0)),
        ...created.map((p) => p.close()),
        dashboard?.runtime.close(0),
      ]);
      throw error;
    }
    // The reload is done when every retargeted listener takes new work to its new pool.
    await Promise.all(retargeted);
  }

  #commitPools(next: Map<string, PoolRuntime>, created: readonly PoolRuntime[]): void {
    const old = this.#pools;
    this.#pools = next;
    for (const runtime of created) {
      runtime.start();
      const replaced = old.has(runtime.name);
      this.#log.info(
        { pool: runtime.name, endpoints: runtime.pool.endpoints.map((e) => e.id) },
        replaced ? 'pool replaced' : 'pool added',
      );
    }
    for (const [name, runtime] of old) {
      if (next.get(name) === runtime) continue;
      if (!next.has(name)) this.#log.info({ pool: name }, 'pool removed');
      // Requests in flight on it finish (they may still retry on it); it is closed after
      // the drain time, or at shutdown.
      this.#retiredPools.add(runtime);
      void delay(this.#drainMs).then(() => {
        if (this.#retiredPools.delete(runtime)) void runtime.close();
      });
    }
  }

  #commitListeners(
    config: SwitchyardConfig,
    keep: ReadonlySet<string>,
    opened: readonly Listener[],
    pools: ReadonlyMap<string, PoolRuntime>,
  ): Promise<void>[] {
    const retargeted: Promise<void>[] = [];
    for (const [key, listener] of this.#listeners) {
      if (keep.has(key)) continue;
      this.#listeners.delete(key);
      this.#log.info({ listener: listener.name }, 'listener closing');
      this.#retire(
        listener.runtime.close(this.#drainMs).then((clean) => {
          this.#log.info({ listener: listener.name, drained: clean }, 'listener closed');
        }),
      );
    }
    for (const listener of opened) this.#listeners.set(keyOf(listener.config), listener);
    for (const next of config.listeners ?? []) {
      const key = keyOf(next);
      const current = this.#listeners.get(key)!;
      const pool = pools.get(next.pool)!.pool;
      if (current.pool === pool && same(current.config, next)) continue;
      this.#listeners.set(key, { ...current, config: next, pool });
      this.#log.info({ listener: current.name, pool: next.pool }, 'listener updated');
      retargeted.push(current.runtime.update(next, pool));
    }
    return retargeted;
  }

  #commitDashboard(
    config: SwitchyardConfig,
    created: Dashboard | undefined,
    pools: ReadonlyMap<string, PoolRuntime>,
  ): void {
    const old = this.#dashboard;
    if (created) {
      this.#dashboard = created;
      if (old && old.config.listen !== created.config.listen)
        this.#retire(old.runtime.close(this.#drainMs));
    } else if (!config.dashboard && old) {
      this.#dashboard = undefined;
      this.#log.info({}, 'dashboard closing');
      this.#retire(old.runtime.close(this.#drainMs));
    } else if (old) {
      old.runtime.update(this.#targets(pools));
    }
  }

  /** A listener on the same address with another protocol is closed first: its port is needed. */
  #freeAddress(config: ListenerConfig): void {
    const address = addressOf(config.listen);
    for (const [key, listener] of this.#listeners) {
      if (addressOf(listener.config.listen) === address && key !== keyOf(config)) {
        this.#listeners.delete(key);
        this.#retire(listener.runtime.close(0));
      }
    }
  }

  #targets(pools: ReadonlyMap<string, PoolRuntime>): DashboardTargets {
    const own = targets(pools);
    return this.#hooks.view === undefined ? own : this.#hooks.view(own);
  }

  #retire(closing: Promise<unknown>): void {
    const tracked = closing.catch((error: unknown) => {
      this.#log.warn({ error }, 'closing failed');
    });
    this.#retiring.add(tracked);
    void tracked.finally(() => this.#retiring.delete(tracked));
  }

  /**
   * Stops accepting everywhere, lets work in flight finish for up to `drainMs`, then
   * closes the pools. Resolves with `true` when nothing had to be cut short.
   */
  async shutdown(drainMs: number): Promise<boolean> {
    this.#drainMs = drainMs;
    const closings = [
      ...[...this.#listeners.values()].map((l) => l.runtime.close(drainMs)),
      ...(this.#dashboard ? [this.#dashboard.runtime.close(drainMs)] : []),
    ];
    this.#listeners.clear();
    this.#dashboard = undefined;
    const results = await Promise.all(closings);
    // Listeners a reload removed are draining on their own deadline.
    await Promise.race([Promise.allSettled([...this.#retiring]), delay(drainMs)]);
    const pools = [...this.#pools.values(), ...this.#retiredPools];
    this.#pools.clear();
    this.#retiredPools.clear();
    await Promise.allSettled(pools.map((p) => p.close()));
    return results.every(Boolean);
  }
}

function targets(pools: ReadonlyMap<string, PoolRuntime>): DashboardTargets {
  const monitors: HealthMonitor[] = [];
  for (const p of pools.values()) if (p.monitor) monitors.push(p.monitor);
  return { pools: new Map([...pools].map(([name, p]) => [name, p.pool])), monitors };
}

/** How `serve --workers` adapts a runtime: see workers.ts. */
export interface RuntimeHooks {
  /** A pool was built (start or reload), before any listener serves it. */
  readonly poolCreated?: (name: string, pool: Pool) => void;
  /** What the dashboard shows of the pools (the primary: the workers' sums). */
  readonly view?: (targets: DashboardTargets) => DashboardTargets;
}

function addressOf(listen: string): string {
  const parsed = parseListenAddress(listen);
  return typeof parsed === 'string' ? listen : formatListenAddress(parsed);
}

function keyOf(config: ListenerConfig): string {
  return `${config.protocol} ${addressOf(config.listen)}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
