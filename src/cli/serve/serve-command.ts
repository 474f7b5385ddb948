import cluster from 'node:cluster';
import {
  formatIssue,
  type LoadResult,
  loadConfig,
  type SwitchyardConfig,
} from '../../config/index.js';
import { createLogger, type LogFormat, type Logger, type LogSink } from './logger.js';
import { type Environment, type RuntimeHooks, ServeRuntime } from './runtime.js';
import {
  primaryConfig,
  WORKER_ENV,
  WorkerAgent,
  WorkerSupervisor,
  workerConfig,
} from './workers.js';

/** Default `--drain-ms`: 30 s, as HAProxy's common `hard-stop-after` settings. */
export const DEFAULT_DRAIN_MS = 30_000;

/** Options of {@link runServe}. */
export interface ServeOptions {
  /** The config file (JSON or YAML). */
  readonly config: string;
  /** How long shutdown lets work in flight finish. @default 30000 */
  readonly drainMs?: number;
  /** Log lines as text or JSON. @default 'text' */
  readonly logFormat?: LogFormat;
  /** Where logs go. @default process.stderr */
  readonly stderr?: LogSink;
  /** Aborting it starts the graceful shutdown (the bin wires SIGTERM and SIGINT to it). */
  readonly signal?: AbortSignal;
  /**
   * Subscribes to reload requests (the bin: SIGHUP); returns the unsubscribe function.
   * @default process.on('SIGHUP')
   */
  readonly onReload?: (reload: () => void) => () => void;
  /** Environment for secrets. @default process.env */
  readonly env?: Environment;
  /**
   * Processes serving the listeners. 1 serves from this process; more fork that many
   * workers, and this process runs health checks, discovery and the dashboard for all.
   * The command line's default is one per core (`--workers auto`); this function's is 1,
   * so a caller embedding it does not fork by surprise.
   * @default 1
   */
  readonly workers?: number;
}

/**
 * Runs `switchyard serve`: starts every pool, listener and the dashboard of the config,
 * reloads on SIGHUP (all or nothing; an invalid file leaves the running config as it is),
 * and on `signal` stops accepting, drains for up to `drainMs` and closes everything.
 * @returns 0 after a clean shutdown; 1 when the config could not start, or when the drain
 *   limit cut work short.
 */
export async function runServe(options: ServeOptions): Promise<number> {
  const drainMs = options.drainMs ?? DEFAULT_DRAIN_MS;
  const file = options.config;
  const isWorker = cluster.isWorker && process.env[WORKER_ENV] === '1';
  const workers = isWorker ? 1 : (options.workers ?? 1);
  const log = createLogger(
    options.logFormat ?? 'text',
    options.stderr ?? process.stderr,
    isWorker ? { fields: { worker: cluster.worker!.id } } : {},
  );
  // The roles (see workers.ts): one process; or a primary and its workers.
  const agent = isWorker ? new WorkerAgent() : undefined;
  let supervisor: WorkerSupervisor | undefined;
  const hooks: RuntimeHooks = agent
    ? { poolCreated: (name, pool) => agent.poolCreated(name, pool) }
    : workers > 1
      ? {
          view: (targets) => supervisor!.view(targets),
          poolCreated: (_name, pool) => supervisor!.watch(pool),
        }
      : {};
  const shape = (config: SwitchyardConfig): SwitchyardConfig =>
    agent ? workerConfig(config) : workers > 1 ? primaryConfig(config) : config;
  const signal =
    agent === undefined
      ? options.signal
      : options.signal === undefined
        ? agent.signal
        : AbortSignal.any([options.signal, agent.signal]);
  const runtime = new ServeRuntime(log, options.env ?? process.env, drainMs, hooks);
  if (workers > 1) {
    supervisor = new WorkerSupervisor(workers, log, () => runtime.poolRuntimes);
    cluster.setupPrimary({ exec: process.argv[1]!, args: process.argv.slice(2) });
  }
  // Reloads, the start and the shutdown run one at a time, in order. The reload signal is
  // heard from the start on: a SIGHUP that comes early must not end the process.
  let started = false;
  let reloadWhenStarted = false;
  let queue: Promise<unknown> = Promise.resolve();
  let pendingReload = false;
  const reload = () => {
    if (!started) {
      // The file may have changed after the start read it: read it again once running.
      reloadWhenStarted = true;
      return;
    }
    if (pendingReload) return; // one queued reload reads the latest file anyway
    pendingReload = true;
    queue = queue.then(async () => {
      pendingReload = false;
      if (signal?.aborted) return;
      log.info({ config: file }, 'reloading');
      const next = await loadConfig(file);
      if (!next.ok) {
        reportInvalid(log, file, next, 'reload rejected; the running config stays');
        return;
      }
      try {
        await runtime.apply(shape(next.config));
        log.info({ config: file }, 'reloaded');
        // The workers read the file once the primary found it good.
        supervisor?.reload();
      } catch (error) {
        log.error({ error }, 'reload failed; the running config stays');
      }
    });
  };
  let unsubscribe: () => void;
  if (agent) {
    agent.attach(() => runtime.pools, reload);
    unsubscribe = () => agent.close();
  } else unsubscribe = (options.onReload ?? onSighup)(reload);
  let workersClean = true;
  try {
    const first = await loadConfig(file);
    if (!first.ok) {
      reportInvalid(log, file, first, 'config invalid; not starting');
      agent?.failed('config invalid');
      return 1;
    }
    log.info({ config: file, pid: process.pid, ...(workers > 1 ? { workers } : {}) }, 'starting');
    try {
      // A worker takes the machine's health view before its listeners serve.
      await agent?.hello();
      await runtime.apply(shape(first.config));
      await supervisor?.start();
    } catch (error) {
      log.error({ error }, 'start failed');
      agent?.failed((error as Error)?.message ?? String(error));
      await runtime.shutdown(0);
      return 1;
    }
    started = true;
    agent?.ready();
    log.info(
      {
        pools: runtime.pools.size,
        listeners: (first.config.listeners ?? []).length,
        ...(workers > 1 ? { workers } : {}),
      },
      'started',
    );
    if (reloadWhenStarted) reload();
    await aborted(signal);
    await queue;
  } finally {
    unsubscribe();
  }
  let stopping: Promise<boolean>;
  if (supervisor) {
    // The workers drain first (the dashboard stays up while they do), then this process.
    log.info({ drainMs }, 'stopping');
    workersClean = await supervisor.stop(drainMs);
    stopping = runtime.shutdown(drainMs);
  } else {
    // Listeners stop accepting as shutdown() is called, before the line says so.
    stopping = runtime.shutdown(drainMs);
    log.info({ drainMs }, 'stopping');
  }
  const clean = (await stopping) && workersClean;
  if (clean) log.info({}, 'stopped');
  else log.warn({ drainMs }, 'stopped; the drain time cut work in flight short');
  // A worker's IPC channel would hold its event loop open: let it go.
  agent?.disconnect();
  return clean ? 0 : 1;
}

function reportInvalid(
  log: Logger,
  file: string,
  result: Extract<LoadResult, { ok: false }>,
  msg: string,
): void {
  if (result.fatal !== undefined) log.error({ config: file, problem: result.fatal }, msg);
  else log.error({ config: file, problems: result.issues.map(formatIssue) }, msg);
}

function onSighup(reload: () => void): () => void {
  process.on('SIGHUP', reload);
  return () => process.off('SIGHUP', reload);
}

function aborted(signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return new Promise(() => {});
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener('abort', () => resolve(), { once: true }),
  );
}
