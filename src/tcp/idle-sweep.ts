/**
 * The idle timeout of every connection of one proxy, on one timer. Instead of a timer per
 * connection refreshed on every chunk both ways, a sweep every `idleMs / 8` reads each
 * connection's byte counters: a connection whose counters have not moved for `idleMs` is
 * idle. It is never closed early (silence is counted from the sweep that last saw bytes
 * move, which is after they moved), and at most about `idleMs / 4` late. The sweep runs
 * only while connections are open.
 * @internal
 */

import { performance } from 'node:perf_hooks';

/** What the sweep reads of a connection, keeps on it, and tells it. */
export interface IdleWatched {
  /** Bytes moved so far, both ways (any count that grows with activity). */
  activity(): number;
  /** The activity count the sweep last saw. Starts at 0. */
  lastActivity: number;
  /** When the sweep last saw the count move (at first: when the connection opened). */
  quietSince: number;
  /** Nothing moved for the idle timeout. */
  idle(): void;
}

/** Shortest sweep period, ms: short timeouts (tests) do not make it spin. */
const MIN_PERIOD_MS = 10;
/** Longest sweep period, ms. */
const MAX_PERIOD_MS = 5_000;

/** @internal */
export class IdleSweep<T extends IdleWatched> {
  readonly #idleMs: number;
  readonly #period: number;
  readonly #watched: ReadonlySet<T>;
  #timer: NodeJS.Timeout | undefined;
  readonly #sweep = (): void => this.#run();

  /** @param watched - the open connections; the owner calls `start`/`stop` as it fills and empties. */
  constructor(idleMs: number, watched: ReadonlySet<T>) {
    this.#idleMs = idleMs;
    this.#watched = watched;
    this.#period = Math.min(MAX_PERIOD_MS, Math.max(MIN_PERIOD_MS, Math.floor(idleMs / 8)));
  }

  /** Starts sweeping (no-op when running, or when the timeout is off). */
  start(): void {
    if (this.#timer !== undefined || this.#idleMs === 0) return;
    this.#timer = setInterval(this.#sweep, this.#period);
    this.#timer.unref();
  }

  /** Stops sweeping. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #run(): void {
    const now = performance.now();
    let idle: T[] | undefined;
    for (const connection of this.#watched) {
      const activity = connection.activity();
      if (activity !== connection.lastActivity) {
        connection.lastActivity = activity;
        connection.quietSince = now;
      } else if (now - connection.quietSince >= this.#idleMs) {
        (idle ??= []).push(connection);
      }
    }
    // Told after the loop: a connection that closes leaves the set being iterated.
    if (idle !== undefined) for (const connection of idle) connection.idle();
  }
}
