import { formatIssue, type LoadResult, loadConfig } from '../../config/index.js';
import { createLogger, type LogFormat, type Logger, type LogSink } from './logger.js';
import { type Environment, ServeRuntime } from './runtime.js';

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
  const log = createLogger(options.logFormat ?? 'text', options.stderr ?? process.stderr);
  const file = options.config;
  const runtime = new ServeRuntime(log, options.env ?? process.env, drainMs);
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
      if (options.signal?.aborted) return;
      log.info({ config: file }, 'reloading');
      const next = await loadConfig(file);
      if (!next.ok) {
        reportInvalid(log, file, next, 'reload rejected; the running config stays');
        return;
      }
      try {
        await runtime.apply(next.config);
        log.info({ config: file }, 'reloaded');
      } catch (error) {
        log.error({ error }, 'reload failed; the running config stays');
      }
    });
  };
  const unsubscribe = (options.onReload ?? onSighup)(reload);
  try {
    const first = await loadConfig(file);
    if (!first.ok) {
      reportInvalid(log, file, first, 'config invalid; not starting');
      return 1;
    }
    log.info({ config: file, pid: process.pid }, 'starting');
    try {
      await runtime.apply(first.config);
    } catch (error) {
      log.error({ error }, 'start failed');
      await runtime.shutdown(0);
      return 1;
    }
    started = true;
    log.info(
      { pools: runtime.pools.size, listeners: (first.config.listeners ?? []).length },
      'started',
    );
    if (reloadWhenStarted) reload();
    await aborted(options.signal);
    await queue;
  } finally {
    unsubscribe();
  }
  // Listeners stop accepting as shutdown() is called, before the line says so.
  const stopping = runtime.shutdown(drainMs);
  log.info({ drainMs }, 'stopping');
  const clean = await stopping;
  if (clean) log.info({}, 'stopped');
  else log.warn({ drainMs }, 'stopped; the drain time cut work in flight short');
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
