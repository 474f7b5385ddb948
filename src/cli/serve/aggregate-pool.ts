/**
 * The dashboard's view of one pool of `switchyard serve --workers N`: the primary's `Pool`
 * (membership, health, operator states: what the machine decides once) joined with the
 * traffic figures each worker reports every second.
 * @internal
 */

import type { DashboardPool } from '../../dashboard/options.js';
import type { Disposable } from '../../events.js';
import type {
  EndpointSnapshot,
  EndpointState,
  LatencyHistogram,
  Pool,
  PoolSnapshot,
  StateChangeEvent,
} from '../../index.js';
import { LATENCY_HISTOGRAM_BOUNDS_MS } from '../../pool/latency-buckets.js';
import type { PoolReport } from './worker-messages.js';

/** Where the latest report of each live worker is read. */
export interface WorkerReports {
  /** The latest report of each live worker for pool `name`, by worker id. */
  reportsOf(name: string): ReadonlyMap<number, PoolReport>;
  /** Pushes the primary's view of every pool to every worker now. */
  sync(): void;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * A `DashboardPool` over the primary's pool and the workers' reports:
 * - counters (`requests`, `successes`, `failures`, `retries`, `ejections`) and `inflight`,
 *   `rate` are the sums over the workers; `errorRate`, the latency EWMA and the latency
 *   percentiles are the workers' own, weighted by their rate (each worker sees the same
 *   endpoints, so they agree closely);
 * - `latencyHistogram()` (Prometheus) is the exact sum of the workers' histograms;
 * - the state is the primary's (health checks, drain, disable), or `ejected` while some
 *   worker's outlier detection holds the endpoint out;
 * - `drain`, `disable` and `enable` act on the primary's pool, which pushes the change to
 *   every worker.
 */
export class AggregatePool implements DashboardPool {
  readonly #name: string;
  readonly #pool: Pool;
  readonly #reports: WorkerReports;
  readonly #listeners = new Set<(event: StateChangeEvent) => void>();

  constructor(name: string, pool: Pool, reports: WorkerReports) {
    this.#name = name;
    this.#pool = pool;
    this.#reports = reports;
  }

  /** The primary's pool this view stands on. */
  get pool(): Pool {
    return this.#pool;
  }

  get closed(): boolean {
    return this.#pool.closed;
  }

  get(id: string) {
    return this.#pool.get(id);
  }

  drain(id: string, reason?: string): boolean {
    return this.#operate(this.#pool.drain(id, reason));
  }

  disable(id: string, reason?: string): boolean {
    return this.#operate(this.#pool.disable(id, reason));
  }

  enable(id: string, reason?: string): boolean {
    return this.#operate(this.#pool.enable(id, reason));
  }

  #operate(found: boolean): boolean {
    if (found) this.#reports.sync();
    return found;
  }

  onStateChange(listener: (event: StateChangeEvent) => void): Disposable {
    const own = this.#pool.onStateChange(listener);
    this.#listeners.add(listener);
    return {
      dispose: () => {
        own.dispose();
        this.#listeners.delete(listener);
      },
      [Symbol.dispose]() {
        this.dispose();
      },
    };
  }

  /** A state change in one worker's pool (an outlier ejection), told to the dashboard. */
  workerStateChange(worker: number, id: string, from: string, to: string, reason: string): void {
    const endpoint = this.#pool.get(id);
    if (endpoint === undefined) return;
    const event: StateChangeEvent = {
      endpoint,
      from: from as EndpointState,
      to: to as EndpointState,
      reason: `${reason} (worker ${worker})`,
    };
    for (const listener of this.#listeners) listener(event);
  }

  latencyHistogram(id: string): LatencyHistogram | undefined {
    if (this.#pool.get(id) === undefined) return undefined;
    const counts = new Array<number>(LATENCY_HISTOGRAM_BOUNDS_MS.length + 1).fill(0);
    let sumMs = 0;
    let count = 0;
    for (const report of this.#reports.reportsOf(this.#name).values()) {
      const h = report.histograms[id];
      if (h === undefined) continue;
      for (let i = 0; i < counts.length; i++) counts[i]! += h.counts[i] ?? 0;
      sumMs += h.sumMs;
      count += h.count;
    }
    return { boundsMs: LATENCY_HISTOGRAM_BOUNDS_MS, counts, sumMs, count };
  }

  snapshot(): PoolSnapshot {
    const base = this.#pool.snapshot();
    const reports = [...this.#reports.reportsOf(this.#name).values()].map((r) => r.snapshot);
    const byId = new Map<string, WorkerEndpoint[]>();
    for (const report of reports) {
      // Each process has its own clock origin: a worker's times move onto the primary's.
      const shift = base.at - report.at;
      for (const e of report.endpoints) {
        const list = byId.get(e.id);
        if (list === undefined) byId.set(e.id, [{ e, shift }]);
        else list.push({ e, shift });
      }
    }
    const endpoints = base.endpoints.map((e) => merge(e, byId.get(e.id)));
    const totals: Mutable<PoolSnapshot['totals']> = { ...base.totals };
    for (const key of STATES) totals[key] = 0;
    totals.eligible = 0;
    for (const e of endpoints) {
      if (e.eligible) totals.eligible++;
      totals[e.state]++;
    }
    for (const key of SUMMED) totals[key] = 0;
    for (const r of reports) for (const key of SUMMED) totals[key] += r.totals[key];
    return { ...base, totals, endpoints };
  }
}

/** One worker's figures of an endpoint, and how far its clock is from the primary's. */
interface WorkerEndpoint {
  readonly e: EndpointSnapshot;
  readonly shift: number;
}

/** Endpoint states, as counted in a snapshot's totals. */
const STATES = ['healthy', 'unhealthy', 'ejected', 'draining', 'disabled'] as const;

/** Figures that add up over the workers, both per endpoint and in the totals. */
const SUMMED = [
  'inflight',
  'requests',
  'successes',
  'failures',
  'retries',
  'ejections',
  'rate',
] as const;

/** One endpoint: the primary's facts, the workers' figures. */
function merge(
  own: EndpointSnapshot,
  workers: readonly WorkerEndpoint[] | undefined,
): EndpointSnapshot {
  if (workers === undefined || workers.length === 0) return own;
  const out: Mutable<EndpointSnapshot> = { ...own };
  for (const key of SUMMED) out[key] = 0;
  let weights = 0;
  let errors = 0;
  let latency = 0;
  const percentiles = { p50: [0, 0], p90: [0, 0], p99: [0, 0] } as Record<
    'p50' | 'p90' | 'p99',
    [sum: number, weight: number]
  >;
  let ejectedUntil: number | null = null;
  let eligible = false;
  for (const { e: w, shift } of workers) {
    for (const key of SUMMED) out[key] += w[key];
    out.consecutiveFailures = Math.max(out.consecutiveFailures, w.consecutiveFailures);
    out.ejectionMultiplier = Math.max(out.ejectionMultiplier, w.ejectionMultiplier);
    eligible ||= w.eligible;
    // A worker's figures weigh by its rate; with no traffic anywhere, equally.
    const weight = w.rate > 0 ? w.rate : 1e-9;
    weights += weight;
    errors += w.errorRate * weight;
    latency += w.latency * weight;
    for (const key of ['p50', 'p90', 'p99'] as const) {
      const value = w.latencyMs[key];
      if (value === null) continue;
      percentiles[key][0] += value * weight;
      percentiles[key][1] += weight;
    }
    if (w.state === 'ejected' && w.ejectedUntil !== null) {
      ejectedUntil = Math.max(ejectedUntil ?? -Infinity, w.ejectedUntil + shift);
    }
  }
  out.errorRate = errors / weights;
  out.latency = latency / weights;
  out.latencyMs = {
    p50: average(percentiles.p50),
    p90: average(percentiles.p90),
    p99: average(percentiles.p99),
  };
  if (own.state === 'healthy' && ejectedUntil !== null) {
    out.state = 'ejected';
    out.ejectedUntil = ejectedUntil;
  }
  out.eligible = own.eligible && eligible;
  return out;
}

function average([sum, weight]: [number, number]): number | null {
  return weight > 0 ? Math.round((sum / weight) * 1000) / 1000 : null;
}
