/**
 * `switchyard serve --workers N`: N processes serve the listeners, one primary does the
 * rest once for the machine.
 *
 * - **Primary** (the process started): reads and validates the file, runs the pools' health
 *   checks and DNS discovery, serves the dashboard, forks the workers and replaces one that
 *   dies. It binds no listener.
 * - **Workers**: the same pools without health checks, and every listener. A listener on a
 *   fixed port is bound by each worker with `SO_REUSEPORT` (Linux, FreeBSD), so the kernel
 *   spreads connections with no hop through the primary; elsewhere, or on port 0, the
 *   workers share the primary's socket (`node:cluster` round robin).
 * - The primary pushes each pool's health and operator states to the workers (on every
 *   change, and every 2 s so a worker that missed one catches up); the workers report their
 *   figures every second, and the dashboard and `/metrics` show the sums.
 * - `SIGHUP` to the primary: it validates and applies the file, then each worker reloads it.
 *   `SIGTERM`/`SIGINT`: every worker drains and exits, then the primary.
 * @internal
 */
import cluster, { type Worker } from 'node:cluster';
import type { SwitchyardConfig } from '../../config/index.js';
import type { DashboardMonitor } from '../../dashboard/options.js';
import type { Pool } from '../../index.js';
import { AggregatePool, type WorkerReports } from './aggregate-pool.js';
import type { DashboardTargets } from './factories.js';
import type { Logger } from './logger.js';
import type { PoolRuntime } from './pool-runtime.js';
import {
  isMessage,
  type PoolReport,
  type PoolSync,
  type ToPrimary,
  type ToWorker,
} from './worker-messages.js';

/** Set in the environment of the processes `serve --workers` forks. */
export const WORKER_ENV = 'SWITCHYARD_SERVE_WORKER';

/** Time between two figure reports of a worker, and the dashboard's freshness. */
const REPORT_INTERVAL_MS = 1_000;
/** Time between two full pushes of the machine's view to the workers. */
const SYNC_INTERVAL_MS = 2_000;
/** How long a new worker may take to start (load the file, bind) before it is replaced. */
const START_TIMEOUT_MS = 30_000;
/** Restart back-off: doubles from the first to the last while workers keep dying young. */
const RESPAWN_FIRST_MS = 100;
const RESPAWN_MAX_MS = 10_000;
/** A worker that lived this long resets the back-off. */
const STABLE_MS = 30_000;
/** After the drain time, how long a worker may take to exit before it is killed. */
const EXIT_GRACE_MS = 5_000;

/** The config a primary applies to itself: everything but the listeners. */
export function primaryConfig(config: SwitchyardConfig): SwitchyardConfig {
  return { ...config, listeners: [] };
}

/** The config a worker applies: no health checks (the primary's), no dashboard. */
export function workerConfig(config: SwitchyardConfig): SwitchyardConfig {
  const pools: Record<string, SwitchyardConfig['pools'][string]> = {};
  for (const [name, pool] of Object.entries(config.pools)) {
    const { healthCheck: _checkedByPrimary, ...rest } = pool;
    pools[name] = rest;
  }
  const { dashboard: _servedByPrimary, ...rest } = config;
  return { ...rest, pools };
}

/** The primary's side: forks, watches and talks to the workers. */
export class WorkerSupervisor implements WorkerReports {
  readonly #count: number;
  readonly #log: Logger;
  readonly #pools: () => ReadonlyMap<string, PoolRuntime>;
  readonly #workers = new Map<number, Worker>();
  readonly #reports = new Map<string, Map<number, PoolReport>>();
  readonly #views = new Map<Pool, AggregatePool>();
  #stopping = false;
  #failures = 0;
  #syncTimer: NodeJS.Timeout | undefined;
  #syncQueued = false;
  readonly #respawns = new Set<NodeJS.Timeout>();

  /**
   * @param count - workers to run.
   * @param pools - the primary's pools now (a reload replaces some).
   */
  constructor(count: number, log: Logger, pools: () => ReadonlyMap<string, PoolRuntime>) {
    this.#count = count;
    this.#log = log;
    this.#pools = pools;
  }

  /**
   * Forks every worker and resolves once all of them listen; rejects with the first
   * failure (a listener that cannot bind), after stopping the others.
   */
  async start(): Promise<void> {
    this.#syncTimer = setInterval(() => this.#broadcastSync(), SYNC_INTERVAL_MS).unref();
    const started = Array.from({ length: this.#count }, () => this.#fork(true));
    try {
      await Promise.all(started);
    } catch (error) {
      await this.stop(0);
      throw error;
    }
  }

  /**
   * Forks one worker; resolves when it listens, rejects when it fails or exits first. A
   * replacement (`initial` false) that fails is replaced in turn, with the back-off.
   */
  #fork(initial: boolean): Promise<void> {
    const worker = cluster.fork({ [WORKER_ENV]: '1' });
    const id = worker.id;
    this.#workers.set(id, worker);
    const startedAt = Date.now();
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      const timer = setTimeout(() => {
        if (ready) return;
        reject(new Error(`worker ${id} did not start within ${START_TIMEOUT_MS} ms`));
        worker.kill('SIGKILL');
      }, START_TIMEOUT_MS).unref();
      worker.on('message', (message: unknown) => {
        if (!isMessage(message)) return;
        const m = message as ToPrimary;
        switch (m.t) {
          case 'hello':
            this.#send(worker, this.#syncMessage());
            return;
          case 'ready':
            ready = true;
            clearTimeout(timer);
            this.#log.info({ worker: id, pid: worker.process.pid }, 'worker started');
            resolve();
            return;
          case 'failed':
            clearTimeout(timer);
            reject(new Error(m.message));
            return;
          case 'stats':
            for (const [name, report] of Object.entries(m.pools)) {
              let byWorker = this.#reports.get(name);
              if (byWorker === undefined) this.#reports.set(name, (byWorker = new Map()));
              byWorker.set(id, report);
            }
            return;
          case 'state':
            this.#viewByName(m.pool)?.workerStateChange(id, m.id, m.from, m.to, m.reason);
            return;
        }
      });
      // An IPC error (the worker is gone) is seen as its exit.
      worker.on('error', () => {});
      worker.once('exit', (code, signal) => {
        clearTimeout(timer);
        this.#workers.delete(id);
        for (const byWorker of this.#reports.values()) byWorker.delete(id);
        const lived = Date.now() - startedAt;
        if (!ready) {
          reject(new Error(`worker ${id} exited before it listened (${signal ?? `code ${code}`})`));
          if (initial) return;
        }
        if (this.#stopping) return;
        this.#failures = lived >= STABLE_MS ? 0 : this.#failures + 1;
        const delay = Math.min(
          RESPAWN_FIRST_MS * 2 ** Math.max(0, this.#failures - 1),
          RESPAWN_MAX_MS,
        );
        this.#log.error(
          { worker: id, pid: worker.process.pid, code, signal, restartInMs: delay },
          'worker exited; starting another',
        );
        const respawn = setTimeout(() => {
          this.#respawns.delete(respawn);
          if (this.#stopping) return;
          this.#fork(false).catch((error: unknown) => {
            // It failed to start (it told why, or its exit is logged): the back-off goes on.
            this.#log.error({ error }, 'worker failed to start');
          });
        }, delay);
        this.#respawns.add(respawn);
      });
    });
  }

  /** A pool of the primary was built: its health checks and operators lead the workers'. */
  watch(pool: Pool): void {
    pool.onStateChange(() => this.#queueSync());
  }

  /** Tells every worker to read the file again (the primary has applied it already). */
  reload(): void {
    for (const worker of this.#workers.values()) this.#send(worker, { t: 'reload' });
    this.#queueSync();
  }

  /** Every worker drains (up to `drainMs`) and exits; true when all exited with code 0. */
  async stop(drainMs: number): Promise<boolean> {
    this.#stopping = true;
    clearInterval(this.#syncTimer);
    for (const timer of this.#respawns) clearTimeout(timer);
    this.#respawns.clear();
    const exits = [...this.#workers.values()].map(
      (worker) =>
        new Promise<boolean>((resolve) => {
          if (worker.isDead()) {
            resolve(worker.process.exitCode === 0);
            return;
          }
          const kill = setTimeout(() => worker.kill('SIGKILL'), drainMs + EXIT_GRACE_MS);
          worker.once('exit', (code) => {
            clearTimeout(kill);
            resolve(code === 0);
          });
          this.#send(worker, { t: 'stop' });
        }),
    );
    const results = await Promise.all(exits);
    return results.every(Boolean);
  }

  /** The dashboard's targets: each pool as the sum of the workers, the primary's monitors. */
  view(targets: DashboardTargets): DashboardTargets {
    const pools = new Map<string, AggregatePool>();
    for (const [name, pool] of targets.pools) {
      const own = pool as Pool;
      let view = this.#views.get(own);
      if (view === undefined) {
        view = new AggregatePool(name, own, this);
        this.#views.set(own, view);
      }
      pools.set(name, view);
    }
    for (const own of this.#views.keys()) if (own.closed) this.#views.delete(own);
    const monitors: DashboardMonitor[] = targets.monitors.map((monitor) => ({
      pool: pools.get(nameOf(targets, monitor.pool))! as unknown as Pool,
      status: (id: string) => monitor.status(id),
    }));
    return { pools, monitors };
  }

  reportsOf(name: string): ReadonlyMap<number, PoolReport> {
    return this.#reports.get(name) ?? new Map();
  }

  sync(): void {
    this.#queueSync();
  }

  #viewByName(name: string): AggregatePool | undefined {
    const runtime = this.#pools().get(name);
    return runtime === undefined ? undefined : this.#views.get(runtime.pool);
  }

  #queueSync(): void {
    if (this.#syncQueued) return;
    this.#syncQueued = true;
    queueMicrotask(() => {
      this.#syncQueued = false;
      this.#broadcastSync();
    });
  }

  #broadcastSync(): void {
    if (this.#workers.size === 0) return;
    const message: ToWorker = this.#syncMessage();
    for (const worker of this.#workers.values()) this.#send(worker, message);
  }

  /** The machine's view; workers report their figures only while a dashboard shows them. */
  #syncMessage(): ToWorker {
    return { t: 'sync', pools: this.#syncAll(), report: this.#views.size > 0 };
  }

  #syncAll(): Record<string, PoolSync> {
    const out: Record<string, PoolSync> = {};
    for (const [name, runtime] of this.#pools()) out[name] = syncOf(runtime.pool);
    return out;
  }

  #send(worker: Worker, message: ToWorker): void {
    if (!worker.isConnected()) return;
    try {
      worker.send(message);
    } catch {
      // The channel closed as it was used: its exit is handled there.
    }
  }
}

function nameOf(targets: DashboardTargets, pool: unknown): string {
  for (const [name, p] of targets.pools) if (p === pool) return name;
  return '';
}

/** The primary's view of a pool: who is down by health check, who by an operator. */
function syncOf(pool: Pool): PoolSync {
  const unhealthy: string[] = [];
  const operator: Record<string, 'drain' | 'disable'> = {};
  if (pool.closed) return { unhealthy, operator };
  for (const e of pool.snapshot().endpoints) {
    if (!e.healthy) unhealthy.push(e.id);
    // The primary's pool carries no traffic: an endpoint removed with drain leaves at once,
    // so one still draining was drained by an operator.
    if (e.state === 'disabled') operator[e.id] = 'disable';
    else if (e.state === 'draining') operator[e.id] = 'drain';
  }
  return { unhealthy, operator };
}

/** The worker's side: applies the machine's view, reports figures, follows the primary. */
export class WorkerAgent {
  readonly #views = new Map<string, PoolSync>();
  /** What was applied to each pool object (a replaced pool starts from nothing). */
  readonly #applied = new WeakMap<
    Pool,
    { unhealthy: Set<string>; operator: Map<string, string> }
  >();
  readonly #stop = new AbortController();
  #pools: () => ReadonlyMap<string, Pool> = () => new Map();
  #onReload: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #report = false;
  #ready = false;
  #first: ((value?: unknown) => void) | undefined;

  constructor() {
    process.on('message', (message: unknown) => {
      if (!isMessage(message)) return;
      const m = message as ToWorker;
      if (m.t === 'sync') {
        for (const [name, view] of Object.entries(m.pools)) this.#views.set(name, view);
        this.#apply();
        this.#reporting(m.report);
        this.#first?.();
      } else if (m.t === 'reload') this.#onReload?.();
      else if (m.t === 'stop') this.#stop.abort();
    });
    // The primary gone (killed): this worker stops as on SIGTERM.
    process.once('disconnect', () => this.#stop.abort());
    // SIGHUP is the primary's: a worker reloads when the primary has checked the file.
    process.on('SIGHUP', () => {});
  }

  /** Aborted when the primary says stop, or is gone. */
  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  /** Asks the primary for the machine's view; resolves once it came (or after 5 s). */
  async hello(): Promise<void> {
    const came = new Promise((resolve) => {
      this.#first = resolve;
    });
    this.#send({ t: 'hello' });
    await Promise.race([came, new Promise((r) => setTimeout(r, 5_000).unref())]);
    this.#first = undefined;
  }

  /** Where the worker's pools are read (a reload replaces some); the reload to run. */
  attach(pools: () => ReadonlyMap<string, Pool>, onReload: () => void): void {
    this.#pools = pools;
    this.#onReload = onReload;
  }

  /** A pool was built (start or reload): it takes the machine's view before serving. */
  poolCreated(name: string, pool: Pool): void {
    const view = this.#views.get(name);
    if (view !== undefined) this.#applyTo(pool, view);
    pool.onStateChange(({ endpoint, from, to, reason }) => {
      // Outlier ejections are this worker's own: the dashboard hears of them.
      if (from === undefined || to === undefined) return;
      if (from !== 'ejected' && to !== 'ejected') return;
      this.#send({ t: 'state', pool: name, id: endpoint.id, from, to, reason });
    });
  }

  ready(): void {
    this.#ready = true;
    this.#send({ t: 'ready' });
    this.#reporting(this.#report);
  }

  /** Reports every second while the primary has a dashboard (a pool's snapshot is O(n)). */
  #reporting(on: boolean): void {
    this.#report = on;
    if (!this.#ready) return;
    if (on && this.#timer === undefined) {
      this.#sendReport();
      this.#timer = setInterval(() => this.#sendReport(), REPORT_INTERVAL_MS).unref();
    } else if (!on && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Tells the primary why this worker could not start, then lets the IPC channel go. */
  failed(message: string): void {
    if (process.send === undefined || !process.connected) return;
    const m: ToPrimary = { t: 'failed', message };
    process.send(m, undefined, undefined, () => this.disconnect());
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#ready = false;
  }

  /** Done: the IPC channel closes, so nothing holds the worker's exit. */
  disconnect(): void {
    if (process.connected) process.disconnect?.();
  }

  #apply(): void {
    for (const [name, pool] of this.#pools()) {
      const view = this.#views.get(name);
      if (view !== undefined) this.#applyTo(pool, view);
    }
  }

  #applyTo(pool: Pool, view: PoolSync): void {
    if (pool.closed) return;
    let applied = this.#applied.get(pool);
    if (applied === undefined) {
      applied = { unhealthy: new Set(), operator: new Map() };
      this.#applied.set(pool, applied);
    }
    const down = new Set(view.unhealthy);
    for (const id of down) {
      if (applied.unhealthy.has(id) || pool.get(id) === undefined) continue;
      pool.setHealth(id, false, 'health-check');
      applied.unhealthy.add(id);
    }
    for (const id of applied.unhealthy) {
      if (down.has(id)) continue;
      applied.unhealthy.delete(id);
      if (pool.get(id) !== undefined) pool.setHealth(id, true, 'health-check');
    }
    const ids = new Set([...applied.operator.keys(), ...Object.keys(view.operator)]);
    for (const id of ids) {
      const want = view.operator[id];
      if (applied.operator.get(id) === want) continue;
      if (pool.get(id) === undefined) {
        applied.operator.delete(id);
        continue;
      }
      if (want === 'drain') pool.drain(id);
      else if (want === 'disable') pool.disable(id);
      else pool.enable(id);
      if (want === undefined) applied.operator.delete(id);
      else applied.operator.set(id, want);
    }
  }

  #sendReport(): void {
    const pools: Record<string, PoolReport> = {};
    for (const [name, pool] of this.#pools()) {
      if (pool.closed) continue;
      const snapshot = pool.snapshot();
      const histograms: Record<string, PoolReport['histograms'][string]> = {};
      for (const e of snapshot.endpoints) {
        const h = pool.latencyHistogram(e.id);
        if (h !== undefined)
          histograms[e.id] = { counts: h.counts, sumMs: h.sumMs, count: h.count };
      }
      pools[name] = { snapshot, histograms };
    }
    this.#send({ t: 'stats', pools });
  }

  #send(message: ToPrimary): void {
    if (process.send === undefined || !process.connected) return;
    try {
      process.send(message);
    } catch {
      // The primary is gone: 'disconnect' stops this worker.
    }
  }
}
