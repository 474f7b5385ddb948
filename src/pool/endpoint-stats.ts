import { bucketOf, FINE_BUCKETS, HISTOGRAM_FINE_INDEX, quantile } from './latency-buckets.js';

/** The endpoint counters the rates are taken from. @internal */
export interface Counted {
  readonly successes: number;
  readonly failures: number;
}

/** Seconds the request and error rates are averaged over. @internal */
export const RATE_WINDOW_S = 10;
/** Length of one latency slot, in seconds: percentiles slide in steps of this. @internal */
export const LATENCY_SLOT_S = 5;
/** Latency slots kept: the current one and the twelve before it, so at least 60 s. @internal */
const LATENCY_SLOTS = 13;
/** Per-second ring for the rates: a power of two ≥ RATE_WINDOW_S + 1. */
const SECONDS = 16;
/** Bucket counts per row: every fine bucket. */
const ROW = FINE_BUCKETS;

/** Rates and percentiles of one endpoint at some time, as the snapshot reports them. @internal */
export interface WindowFigures {
  readonly rate: number;
  readonly errorRate: number;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
}

/** Latency histogram since the endpoint joined (see {@link LatencyHistogram}). @internal */
export interface HistogramFigures {
  readonly counts: number[];
  readonly sumMs: number;
  readonly count: number;
}

const EMPTY: WindowFigures = Object.freeze({
  rate: 0,
  errorRate: 0,
  p50: null,
  p90: null,
  p99: null,
});

/** What the figures are recorded on: the endpoint record. @internal */
export interface StatsHolder extends Counted {
  /**
   * Pool time (ms) at which the current second of the figures ends: a release at or after
   * it advances them first. 0 until the first release, then whole milliseconds.
   */
  statsUntil: number;
  /** The holder's column in the pool's {@link FigureTable}, −1 until the first release. */
  statsColumn: number;
  /** Sum of the latencies recorded, ms (the histogram's `_sum`). */
  latencySumMs: number;
  stats: EndpointStats | undefined;
  readonly removed: boolean;
}

/** Columns a table starts with; it doubles when full. */
const INITIAL_COLUMNS = 16;

/**
 * The current 5-s slot's latency bucket counts of every endpoint of one pool, laid out by
 * bucket first: the count of bucket `b` for the endpoint in column `c` is
 * `counts[b * columns + c]`. Latencies cluster in a few buckets, so the rows a busy pool
 * touches stay small and in cache however many endpoints it has (a row is 4 bytes per
 * endpoint: 40 KB at 10 000), where a per-endpoint row would be one more cache miss per
 * release. (The latency sum stays on the record, beside the EWMAs a release updates.)
 * Columns of endpoints that left are zeroed and reused; the table grows by doubling and
 * does not shrink.
 * @internal
 */
export class FigureTable {
  columns = INITIAL_COLUMNS;
  counts = new Uint32Array(FINE_BUCKETS * INITIAL_COLUMNS);
  #used = 0;
  readonly #free: number[] = [];

  /**
   * Records a completed request of `holder` at pool time `t`, before the endpoint's
   * counters count it; `latencyMs` < 0 leaves latency out. A time before the current second
   * (a caller's sample reported late) counts in the current one. The release path: a
   * comparison on the record, a bucket search and two additions; the rest waits for the
   * second to end.
   */
  record(holder: StatsHolder, t: number, latencyMs: number): void {
    if (t >= holder.statsUntil && !this.#advance(holder, t)) return;
    if (latencyMs >= 0) {
      const column = holder.statsColumn;
      this.counts[bucketOf(latencyMs) * this.columns + column]!++;
      holder.latencySumMs += latencyMs;
    }
  }

  /** A second ended for `holder` (or it records for the first time); false once it left. */
  #advance(holder: StatsHolder, t: number): boolean {
    if (holder.removed) return false;
    const stats = holder.stats;
    if (stats === undefined) {
      holder.statsColumn = this.#take();
      holder.stats = new EndpointStats(holder, this, t);
    } else {
      stats.advance(t);
    }
    return true;
  }

  /** Gives back the column of an endpoint that left the pool. */
  release(holder: StatsHolder): void {
    const column = holder.statsColumn;
    if (column < 0) return;
    holder.statsColumn = -1;
    // A lease still out on it takes the slow path, which sees the endpoint left.
    holder.statsUntil = 0;
    const columns = this.columns;
    for (let b = 0; b < FINE_BUCKETS; b++) this.counts[b * columns + column] = 0;
    this.#free.push(column);
  }

  #take(): number {
    const free = this.#free.pop();
    if (free !== undefined) return free;
    if (this.#used === this.columns) this.#grow();
    return this.#used++;
  }

  #grow(): void {
    const before = this.columns;
    const after = before * 2;
    const counts = new Uint32Array(FINE_BUCKETS * after);
    for (let b = 0; b < FINE_BUCKETS; b++) {
      counts.set(this.counts.subarray(b * before, (b + 1) * before), b * after);
    }
    this.counts = counts;
    this.columns = after;
  }

  /** Moves the current slot's counts of `column` into `into` (at `at`), zeroing them. */
  drain(column: number, into: Uint32Array, at: number): void {
    const counts = this.counts;
    const columns = this.columns;
    for (let b = 0; b < FINE_BUCKETS; b++) {
      const i = b * columns + column;
      const n = counts[i]!;
      if (n !== 0) {
        into[at + b] = n;
        counts[i] = 0;
      }
    }
  }

  /** Adds the current slot's counts of `column` to `into`; returns their total. */
  addCurrent(column: number, into: Float64Array): number {
    const counts = this.counts;
    const columns = this.columns;
    let total = 0;
    for (let b = 0; b < FINE_BUCKETS; b++) {
      const n = counts[b * columns + column]!;
      into[b]! += n;
      total += n;
    }
    return total;
  }
}

/**
 * One endpoint's recorded figures: completed requests and failures in a ring of per-second
 * slots (rates over the last {@link RATE_WINDOW_S} complete seconds), latencies in a ring of
 * 5-s slots of fixed log-spaced buckets (percentiles over the last 60 to 65 s), and a
 * cumulative histogram (the Prometheus one). No timer: the rings advance lazily, on a record
 * or a read, with the pool's clock. The current slot's counts live in the pool's
 * {@link FigureTable}; they move into the ring when the slot ends.
 * @internal
 */
export class EndpointStats {
  readonly #holder: StatsHolder;
  readonly #table: FigureTable;
  // Per-second counts are the differences of the endpoint's own success and failure
  // counters, taken when a second ends: the release path counts nothing twice.
  #okBefore: number;
  #failedBefore: number;
  readonly #ok = new Uint32Array(SECONDS);
  readonly #failed = new Uint32Array(SECONDS);
  /** Ended latency slots, slot `k` at row `k % LATENCY_SLOTS`. */
  readonly #slots = new Uint32Array(LATENCY_SLOTS * ROW);
  /** Counts of the rows recycled: with the ring and the current slot, the cumulative histogram. */
  readonly #retired = new Float64Array(ROW);
  /** The current second (`floor(t / 1000)`). */
  #second: number;
  /** The first second recorded: rates divide by the seconds seen when fewer than the window. */
  readonly #first: number;
  /** The current latency slot (`floor(second / LATENCY_SLOT_S)`). */
  #slot: number;

  /** @param holder - the endpoint, its counters read before this release counts itself. */
  constructor(holder: StatsHolder, table: FigureTable, t: number) {
    this.#holder = holder;
    this.#table = table;
    this.#okBefore = holder.successes;
    this.#failedBefore = holder.failures;
    const second = Math.floor(t / 1000);
    this.#second = second;
    this.#first = second;
    this.#slot = Math.floor(second / LATENCY_SLOT_S);
    holder.statsUntil = (second + 1) * 1000;
  }

  /** Moves the rings to the second of `t`, clearing the slots it passes. */
  advance(t: number): void {
    const second = Math.floor(t / 1000);
    if (!(second > this.#second)) return;
    const ended = this.#second & (SECONDS - 1);
    const { successes, failures } = this.#holder;
    this.#ok[ended] = successes - this.#okBefore;
    this.#failed[ended] = failures - this.#failedBefore;
    this.#okBefore = successes;
    this.#failedBefore = failures;
    for (let s = Math.max(this.#second + 1, second - SECONDS + 1); s < second; s++) {
      this.#ok[s & (SECONDS - 1)] = 0;
      this.#failed[s & (SECONDS - 1)] = 0;
    }
    const slot = Math.floor(second / LATENCY_SLOT_S);
    if (slot > this.#slot) {
      // The current slot ends: its row replaces the oldest in the ring. Slots skipped
      // (no request at all) get empty rows.
      const base = this.#retire(this.#slot);
      const column = this.#holder.statsColumn;
      if (column >= 0) this.#table.drain(column, this.#slots, base);
      for (let k = Math.max(this.#slot + 1, slot - LATENCY_SLOTS + 1); k < slot; k++) {
        this.#retire(k);
      }
      this.#slot = slot;
    }
    this.#second = second;
    this.#holder.statsUntil = (second + 1) * 1000;
  }

  /** Moves the counts of the ring row of slot `k` into the retired ones; returns its base. */
  #retire(k: number): number {
    const base = (k % LATENCY_SLOTS) * ROW;
    const slots = this.#slots;
    for (let b = 0; b < FINE_BUCKETS; b++) {
      const n = slots[base + b]!;
      if (n !== 0) {
        this.#retired[b]! += n;
        slots[base + b] = 0;
      }
    }
    return base;
  }

  /** Rates over the last complete seconds and percentiles over the last minute, at `t`. */
  figures(t: number, scratch: Float64Array): WindowFigures {
    this.advance(t);
    const now = this.#second;
    const seconds = Math.min(RATE_WINDOW_S, now - this.#first);
    let ok = 0;
    let failed = 0;
    for (let s = now - seconds; s < now; s++) {
      ok += this.#ok[s & (SECONDS - 1)]!;
      failed += this.#failed[s & (SECONDS - 1)]!;
    }
    const requests = ok + failed;
    scratch.fill(0);
    const column = this.#holder.statsColumn;
    let total = column < 0 ? 0 : this.#table.addCurrent(column, scratch);
    const firstSlot = Math.floor(this.#first / LATENCY_SLOT_S);
    for (let k = Math.max(firstSlot, this.#slot - LATENCY_SLOTS + 1); k < this.#slot; k++) {
      const base = (k % LATENCY_SLOTS) * ROW;
      for (let b = 0; b < FINE_BUCKETS; b++) {
        const n = this.#slots[base + b]!;
        scratch[b]! += n;
        total += n;
      }
    }
    return {
      rate: seconds === 0 ? 0 : requests / seconds,
      errorRate: requests === 0 ? 0 : failed / requests,
      p50: quantile(scratch, total, 0.5),
      p90: quantile(scratch, total, 0.9),
      p99: quantile(scratch, total, 0.99),
    };
  }

  /** The cumulative histogram on the reported bounds (last count: +∞, i.e. every sample). */
  histogram(): HistogramFigures {
    const total = Float64Array.from(this.#retired);
    const column = this.#holder.statsColumn;
    if (column >= 0) this.#table.addCurrent(column, total);
    for (let k = 0; k < LATENCY_SLOTS; k++) {
      for (let b = 0; b < FINE_BUCKETS; b++) total[b]! += this.#slots[k * ROW + b]!;
    }
    const counts: number[] = [];
    let seen = 0;
    let b = 0;
    for (const fine of HISTOGRAM_FINE_INDEX) {
      for (; b <= fine; b++) seen += total[b]!;
      counts.push(seen);
    }
    for (; b < FINE_BUCKETS; b++) seen += total[b]!;
    counts.push(seen);
    return { counts, sumMs: this.#holder.latencySumMs, count: seen };
  }
}

/** The figures of an endpoint that has completed no request yet. @internal */
export function emptyFigures(): WindowFigures {
  return EMPTY;
}

/** The histogram of an endpoint that has completed no request yet. @internal */
export function emptyHistogram(): HistogramFigures {
  return { counts: new Array<number>(HISTOGRAM_FINE_INDEX.length + 1).fill(0), sumMs: 0, count: 0 };
}
