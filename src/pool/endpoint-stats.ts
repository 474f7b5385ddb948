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
const ROW = 64;

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

/**
 * One endpoint's recorded figures: completed requests and failures in a ring of per-second
 * slots (rates over the last {@link RATE_WINDOW_S} complete seconds), latencies in a ring of
 * 5-s slots of fixed log-spaced buckets (percentiles over the last 60 to 65 s), and a
 * cumulative histogram (the Prometheus one). No timer: the rings advance lazily, on a record
 * or a read, with the pool's clock. Recording allocates nothing; the typed arrays are
 * allocated once, with the endpoint's first completed request.
 * @internal
 */
export class EndpointStats {
  // Per-second counts are the differences of the endpoint's own success and failure
  // counters, taken when a second ends: the release path counts nothing twice.
  readonly #counted: Counted;
  #okBefore: number;
  #failedBefore: number;
  readonly #ok = new Uint32Array(SECONDS);
  readonly #failed = new Uint32Array(SECONDS);
  readonly #slots = new Uint32Array(LATENCY_SLOTS * ROW);
  /** Counts of the latency slots already recycled: with the live slots, the cumulative histogram. */
  readonly #retired = new Float64Array(ROW);
  #sumMs = 0;
  #count = 0;
  /** The current second (`floor(t / 1000)`) and when it ends. */
  #second: number;
  #secondEnd: number;
  /** The first second recorded: rates divide by the seconds seen when fewer than the window. */
  readonly #first: number;
  #slot: number;
  #slotBase: number;

  /** @param counted - the endpoint's counters, read before this release counts itself. */
  constructor(counted: Counted, t: number) {
    this.#counted = counted;
    this.#okBefore = counted.successes;
    this.#failedBefore = counted.failures;
    const second = Math.floor(t / 1000);
    this.#second = second;
    this.#secondEnd = (second + 1) * 1000;
    this.#first = second;
    this.#slot = Math.floor(second / LATENCY_SLOT_S);
    this.#slotBase = (this.#slot % LATENCY_SLOTS) * ROW;
  }

  /**
   * Records a completed request at pool time `t`, before the endpoint's counters count it;
   * `latencyMs` < 0 leaves latency out. A time before the current second (a caller's sample
   * reported late) counts in the current one.
   */
  record(t: number, latencyMs: number): void {
    if (t >= this.#secondEnd) this.#advance(t);
    if (latencyMs >= 0) {
      this.#slots[this.#slotBase + bucketOf(latencyMs)]!++;
      this.#sumMs += latencyMs;
      this.#count++;
    }
  }

  /** Moves the rings to the second of `t`, clearing the slots it passes. */
  #advance(t: number): void {
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
    const slots = this.#slots;
    const retired = this.#retired;
    for (let k = Math.max(this.#slot + 1, slot - LATENCY_SLOTS + 1); k <= slot; k++) {
      const base = (k % LATENCY_SLOTS) * ROW;
      for (let b = 0; b < FINE_BUCKETS; b++) {
        const n = slots[base + b]!;
        if (n !== 0) {
          retired[b]! += n;
          slots[base + b] = 0;
        }
      }
    }
    this.#second = second;
    this.#secondEnd = (second + 1) * 1000;
    this.#slot = slot;
    this.#slotBase = (slot % LATENCY_SLOTS) * ROW;
  }

  /** Rates over the last complete seconds and percentiles over the last minute, at `t`. */
  figures(t: number, scratch: Float64Array): WindowFigures {
    if (t >= this.#secondEnd) this.#advance(t);
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
    let total = 0;
    const firstSlot = Math.floor(this.#first / LATENCY_SLOT_S);
    for (let k = Math.max(firstSlot, this.#slot - LATENCY_SLOTS + 1); k <= this.#slot; k++) {
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
    counts.push(this.#count);
    return { counts, sumMs: this.#sumMs, count: this.#count };
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
