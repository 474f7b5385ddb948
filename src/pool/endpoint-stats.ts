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

// Layout of an endpoint's hot array, all a release touches (one object, unboxed numbers):
// when the current second ends (ms, pool clock), the sum and count of latencies, then the
// current 5-s slot's bucket counts.
const SECOND_END = 0;
const SUM_MS = 1;
const COUNT = 2;
const ROW_AT = 3;

/** `length` zeros in an array whose elements V8 keeps as unboxed doubles. */
function newDoubleRow(length: number): number[] {
  const row = Array.from({ length }, () => 0.5);
  return row.fill(0);
}

/** What the figures are recorded on: the endpoint record. @internal */
export interface StatsHolder extends Counted {
  /** The hot array of {@link EndpointStats}, reached without going through it. */
  statsHot: number[] | undefined;
  stats: EndpointStats | undefined;
}

/**
 * Records a completed request of `holder` at pool time `t`, before the endpoint's counters
 * count it; `latencyMs` < 0 leaves latency out. A time before the current second (a
 * caller's sample reported late) counts in the current one. The release path: a
 * comparison, a bucket search and three additions on one typed array; the figures are
 * allocated with the first call.
 * @internal
 */
export function recordStats(holder: StatsHolder, t: number, latencyMs: number): void {
  let hot = holder.statsHot;
  if (hot === undefined) {
    const stats = new EndpointStats(holder, t);
    holder.stats = stats;
    hot = holder.statsHot = stats.hot;
  }
  if (t >= hot[SECOND_END]!) holder.stats!.advance(t);
  if (latencyMs >= 0) {
    hot[ROW_AT + bucketOf(latencyMs)]!++;
    hot[SUM_MS]! += latencyMs;
    hot[COUNT]!++;
  }
}

/**
 * One endpoint's recorded figures: completed requests and failures in a ring of per-second
 * slots (rates over the last {@link RATE_WINDOW_S} complete seconds), latencies in a ring of
 * 5-s slots of fixed log-spaced buckets (percentiles over the last 60 to 65 s), and a
 * cumulative histogram (the Prometheus one). No timer: the rings advance lazily, on a record
 * or a read, with the pool's clock. The current slot's counts live in the small `hot` array
 * with the rest of what a release updates; they move into the ring when the slot ends.
 * @internal
 */
export class EndpointStats {
  /** See {@link recordStats}: what a release updates. */
  // A plain array of unboxed doubles, not a Float64Array: its elements live on the V8 heap
  // right behind it, where a typed array of this size keeps them in a separate allocation —
  // one cache miss fewer per release when thousands of endpoints are busy (bench:pool).
  readonly hot: number[] = newDoubleRow(ROW_AT + ROW);
  // Per-second counts are the differences of the endpoint's own success and failure
  // counters, taken when a second ends: the release path counts nothing twice.
  readonly #counted: Counted;
  #okBefore: number;
  #failedBefore: number;
  readonly #ok = new Uint32Array(SECONDS);
  readonly #failed = new Uint32Array(SECONDS);
  /** Ended latency slots, slot `k` at row `k % LATENCY_SLOTS`. */
  readonly #slots = new Uint32Array(LATENCY_SLOTS * ROW);
  /** Counts of the rows recycled: with the ring and the hot row, the cumulative histogram. */
  readonly #retired = new Float64Array(ROW);
  /** The current second (`floor(t / 1000)`). */
  #second: number;
  /** The first second recorded: rates divide by the seconds seen when fewer than the window. */
  readonly #first: number;
  /** The current latency slot (`floor(second / LATENCY_SLOT_S)`). */
  #slot: number;

  /** @param counted - the endpoint's counters, read before this release counts itself. */
  constructor(counted: Counted, t: number) {
    this.#counted = counted;
    this.#okBefore = counted.successes;
    this.#failedBefore = counted.failures;
    const second = Math.floor(t / 1000);
    this.#second = second;
    this.hot[SECOND_END] = (second + 1) * 1000;
    this.#first = second;
    this.#slot = Math.floor(second / LATENCY_SLOT_S);
  }

  /** Moves the rings to the second of `t`, clearing the slots it passes. */
  advance(t: number): void {
    const second = Math.floor(t / 1000);
    if (!(second > this.#second)) return;
    const ended = this.#second & (SECONDS - 1);
    const { successes, failures } = this.#counted;
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
      const hot = this.hot;
      const base = this.#retire(this.#slot);
      for (let b = 0; b < FINE_BUCKETS; b++) {
        this.#slots[base + b] = hot[ROW_AT + b]!;
        hot[ROW_AT + b] = 0;
      }
      for (let k = Math.max(this.#slot + 1, slot - LATENCY_SLOTS + 1); k < slot; k++) {
        this.#retire(k);
      }
      this.#slot = slot;
    }
    this.#second = second;
    this.hot[SECOND_END] = (second + 1) * 1000;
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
    if (t >= this.hot[SECOND_END]!) this.advance(t);
    const now = this.#second;
    const seconds = Math.min(RATE_WINDOW_S, now - this.#first);
    let ok = 0;
    let failed = 0;
    for (let s = now - seconds; s < now; s++) {
      ok += this.#ok[s & (SECONDS - 1)]!;
      failed += this.#failed[s & (SECONDS - 1)]!;
    }
    const requests = ok + failed;
    let total = 0;
    for (let b = 0; b < FINE_BUCKETS; b++) {
      const n = this.hot[ROW_AT + b]!;
      scratch[b] = n;
      total += n;
    }
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
    for (let b = 0; b < FINE_BUCKETS; b++) total[b]! += this.hot[ROW_AT + b]!;
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
    const count = this.hot[COUNT]!;
    counts.push(count);
    return { counts, sumMs: this.hot[SUM_MS]!, count };
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
