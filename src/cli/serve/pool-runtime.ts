import type { EndpointConfig, PoolConfig } from '../../config/index.js';
import type { Disposable } from '../../events.js';
import {
  type EndpointInput,
  HealthMonitor,
  Pool,
  type PoolEndpoint,
  type Selector,
} from '../../index.js';
import { createDnsDiscovery, type DiscoveryRuntime } from './factories.js';
import type { Logger } from './logger.js';
import {
  type BuiltCheck,
  buildHealthCheck,
  buildSelector,
  defined,
  poolSettings,
} from './options.js';
import { SwitchableSelector } from './switchable-selector.js';

/** A pool update built and checked, not yet applied. */
export interface PreparedUpdate {
  /** Applies it; returns what changed, for the log. Does not throw. */
  commit(): string[];
  /** Drops what was built for it. */
  abort(): void;
}

/** A pool built from the config: the `Pool`, its selector, health monitor and discovery. */
export class PoolRuntime {
  readonly name: string;
  readonly pool: Pool;
  #config: PoolConfig;
  readonly #selector: SwitchableSelector;
  readonly #log: Logger;
  #check: BuiltCheck | undefined;
  #monitor: HealthMonitor | undefined;
  #discovery: DiscoveryRuntime | undefined;
  readonly #subscription: Disposable;
  #membership: Disposable | undefined;

  /** @throws what the API throws for options it refuses (naming the option). */
  constructor(name: string, config: PoolConfig, log: Logger) {
    this.name = name;
    this.#config = config;
    this.#log = log;
    this.#selector = new SwitchableSelector(buildSelector(config.selector));
    this.pool = new Pool({
      ...poolSettings(config),
      endpoints: endpointInputs(config.endpoints),
      selector: this.#selector,
    });
    this.#subscription = this.pool.onStateChange(({ endpoint, from, to, reason }) => {
      if (from === undefined || to === undefined) return; // membership: logged by reloads
      const level = to === 'healthy' ? 'info' : 'warn';
      log[level]({ pool: name, endpoint: endpoint.id, from, to, reason }, 'endpoint state');
    });
    if (config.discovery) {
      // Membership from DNS is not in the file: the log says what it became.
      this.#membership = this.pool.onMembershipChange(({ added, removed }) =>
        log.info(
          { pool: name, added: added.map((e) => e.id), removed: removed.map((e) => e.id) },
          'endpoints discovered',
        ),
      );
    }
    try {
      if (config.healthCheck) {
        this.#check = buildHealthCheck(config.healthCheck);
        this.#monitor = this.#newMonitor(this.#check);
      }
      if (config.discovery)
        this.#discovery = createDnsDiscovery(config.discovery.dns, this.pool, log, name);
    } catch (error) {
      void this.close();
      throw error;
    }
  }

  /** The pool's config as last applied. */
  get config(): PoolConfig {
    return this.#config;
  }

  /** The health monitor, when the pool has a health check. */
  get monitor(): HealthMonitor | undefined {
    return this.#monitor;
  }

  /** Starts health checking and discovery. */
  start(): void {
    this.#monitor?.start();
    this.#discovery?.start();
  }

  #newMonitor(check: BuiltCheck): HealthMonitor {
    return new HealthMonitor(this.pool, { ...check.monitor, check: check.check });
  }

  /**
   * True when `next` can be applied in place: everything but the settings a `Pool` takes
   * only at construction (outlier detection, slow start, panic threshold, Retry-After cap,
   * latency decay) and the switch between a list and discovery.
   */
  canUpdate(next: PoolConfig): boolean {
    return (
      same(poolSettings(this.#config), poolSettings(next)) &&
      (this.#config.discovery === undefined) === (next.discovery === undefined)
    );
  }

  /**
   * Builds what `next` needs that can fail (a selector, a health check), so that a reload
   * fails before it changes anything. Returns the function that applies it.
   */
  prepare(next: PoolConfig): PreparedUpdate {
    const old = this.#config;
    // The endpoints as the pool will read them (ids after URL normalisation, weights):
    // refused here rather than halfway through the commit.
    if (next.endpoints && !same(old.endpoints, next.endpoints)) {
      void new Pool({ endpoints: endpointInputs(next.endpoints) }).close();
    }
    const selector: Selector<PoolEndpoint> | undefined = same(old.selector, next.selector)
      ? undefined
      : buildSelector(next.selector);
    const checkChanged = !same(old.healthCheck, next.healthCheck);
    const check = checkChanged && next.healthCheck ? buildHealthCheck(next.healthCheck) : undefined;
    const monitor = check ? this.#newMonitor(check) : undefined;
    const discoveryChanged = !same(old.discovery, next.discovery);
    let discovery: DiscoveryRuntime | undefined;
    try {
      if (discoveryChanged && next.discovery) {
        discovery = createDnsDiscovery(next.discovery.dns, this.pool, this.#log, this.name);
      }
    } catch (error) {
      void check?.close();
      throw error;
    }
    const abort = () => {
      void check?.close();
      void discovery?.close();
    };
    const commit = () => {
      const changes: string[] = [];
      this.#config = next;
      if (next.endpoints && !same(old.endpoints, next.endpoints))
        changes.push(...this.#setEndpoints(next.endpoints));
      if (selector) {
        this.#selector.replace(selector);
        changes.push(`selector ${describe(next.selector)}`);
      }
      if (checkChanged) {
        this.#replaceCheck(check, monitor);
        changes.push(next.healthCheck ? 'health check replaced' : 'health check removed');
      }
      if (discoveryChanged) {
        void this.#discovery?.close();
        this.#discovery = discovery;
        changes.push('discovery replaced');
      }
      discovery?.start();
      return changes;
    };
    return { commit, abort };
  }

  #setEndpoints(endpoints: readonly EndpointConfig[]): string[] {
    const live = (): Map<string, PoolEndpoint> =>
      new Map(this.pool.endpoints.filter((e) => e.state !== 'draining').map((e) => [e.id, e]));
    const before = new Map([...live()].map(([id, e]) => [id, e.configuredWeight]));
    this.pool.setEndpoints(endpointInputs(endpoints), { drain: true });
    const after = live();
    const changes: string[] = [];
    for (const [id, endpoint] of after) {
      const weight = before.get(id);
      if (weight === undefined) changes.push(`+${id}`);
      else if (weight !== endpoint.configuredWeight)
        changes.push(`${id} weight ${weight}->${endpoint.configuredWeight}`);
    }
    for (const id of before.keys()) if (!after.has(id)) changes.push(`-${id}`);
    return changes;
  }

  #replaceCheck(next: BuiltCheck | undefined, nextMonitor: HealthMonitor | undefined): void {
    const monitor = this.#monitor;
    const check = this.#check;
    this.#monitor = nextMonitor;
    this.#check = next;
    void monitor?.stop().then(() => check?.close());
    if (next === undefined) {
      // Without active checks nothing would ever bring an endpoint back.
      for (const e of this.pool.endpoints)
        if (e.state === 'unhealthy') this.pool.setHealth(e.id, true, 'health-check-removed');
    }
    this.start();
  }

  /** Stops checks and discovery, then closes the pool. Idempotent. */
  async close(): Promise<void> {
    this.#subscription.dispose();
    this.#membership?.dispose();
    const monitor = this.#monitor;
    this.#monitor = undefined;
    await Promise.allSettled([monitor?.stop(), this.#discovery?.close()]);
    await this.#check?.close();
    await this.pool.close();
  }
}

/** The endpoints of the config as `Pool` takes them. */
export function endpointInputs(endpoints: readonly EndpointConfig[] | undefined): EndpointInput[] {
  return (endpoints ?? []).map((e) => (typeof e === 'string' ? e : (defined(e) as EndpointInput)));
}

function describe(selector: PoolConfig['selector']): string {
  return selector === undefined
    ? 'power-of-two-choices'
    : typeof selector === 'string'
      ? selector
      : JSON.stringify(selector);
}

/** Deep equality of plain JSON values (what a config file holds). */
export function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) =>
    same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}
