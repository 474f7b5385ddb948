import type { PickContext, SelectorEndpoint } from '../selectors/selector.js';
import { quote } from '../validate.js';
import {
  type LatencyDistribution,
  type ResolvedSimulation,
  resolveSimulation,
  type SimulatedEndpoint,
  type SimulationOptions,
} from './simulate-options.js';

export {
  DEFAULT_LATENCY_DECAY_MS,
  DEFAULT_SIMULATION_SEED,
  type FleetSelectorFactory,
  type LatencyDistribution,
  MAX_SIMULATION_BALANCERS,
  MAX_SIMULATION_REQUESTS,
  type SimulatedEndpoint,
  type SimulationOptions,
  type SimulationPeriod,
  type SimulationWorkload,
  type SlowPeriod,
} from './simulate-options.js';

/** Latency percentiles (nearest rank) and mean, in virtual ms; all 0 with no sample. */
export interface LatencySummary {
  /** Median. */
  readonly p50: number;
  /** 90th percentile. */
  readonly p90: number;
  /** 99th percentile. */
  readonly p99: number;
  /** Arithmetic mean. */
  readonly mean: number;
}

/** One endpoint's part of a {@link SimulationReport}. */
export interface SimulatedEndpointReport {
  /** The endpoint's id. */
  readonly id: string;
  /** Requests the selector sent to it. */
  readonly picks: number;
  /** `picks` over all picks, 0 to 1. */
  readonly share: number;
  /** Its requests that failed. */
  readonly failures: number;
  /** Most requests it had in flight at once (from every balancer). */
  readonly peakInflight: number;
  /** Requests it had in flight on average, seen by each arriving request. */
  readonly meanInflight: number;
  /** Latency of its requests, failed ones included. */
  readonly latency: LatencySummary;
}

/** What {@link simulate} measured. */
export interface SimulationReport {
  /** Virtual time from the start to the last answer, in ms. */
  readonly durationMs: number;
  /** Per endpoint, in the order given. */
  readonly endpoints: readonly SimulatedEndpointReport[];
  /** All requests together. */
  readonly overall: LatencySummary & {
    /** Requests sent. */
    readonly requests: number;
    /** Failed requests, `unserved` ones included. */
    readonly failures: number;
    /** Requests for which `pick` returned `undefined` (every endpoint out). */
    readonly unserved: number;
    /**
     * In flight per endpoint, on average over endpoints, as each arriving request finds
     * them (for Poisson arrivals, the time average). Compare with `maxInflight`.
     */
    readonly meanInflight: number;
    /**
     * In flight on the busiest endpoint, on average over arriving requests: the load of
     * the most loaded endpoint at a typical moment. `maxInflight / meanInflight` is 1 for
     * a perfect spread and grows with imbalance.
     */
    readonly maxInflight: number;
  };
  /** Balancers of the fleet (1 without `balancers`). */
  readonly balancers: number;
}

/**
 * The mutable endpoint a selector sees: the simulation plays the pool's part, one view
 * per balancer (its own requests in flight and its own latency average).
 */
interface EndpointView {
  readonly id: string;
  readonly weight: number;
  inflight: number;
  latency: number;
  /** Virtual time of the latest latency sample. */
  stamp: number;
  readonly index: number;
}

/** An endpoint as a server: shared by every balancer. */
interface ServerState {
  /** Requests in flight from every balancer. */
  inflight: number;
  /** Requests being served (≤ the endpoint's concurrency). */
  busy: number;
  /** Requests waiting for a free slot, oldest first from `head`. */
  readonly queue: number[];
  head: number;
}

function sampleLatency(d: LatencyDistribution, u1: number, u2: number): number {
  if (d.kind === 'constant') return d.ms;
  if (d.kind === 'exponential') return -d.meanMs * Math.log(1 - u1);
  // Box–Muller: one standard normal from two uniforms (1 − u keeps the log finite).
  const normal = Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  return d.medianMs * Math.exp(d.sigma * normal);
}

function factorAt(endpoint: Required<SimulatedEndpoint>, time: number): number {
  let factor = 1;
  for (const p of endpoint.slowPeriods) if (time >= p.fromMs && time < p.toMs) factor *= p.factor;
  return factor;
}

function summarise(samples: Float64Array): LatencySummary {
  const n = samples.length;
  if (n === 0) return { p50: 0, p90: 0, p99: 0, mean: 0 };
  samples.sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += samples[i]!;
  const rank = (p: number) => samples[Math.max(0, Math.ceil(p * n) - 1)]!;
  return { p50: rank(0.5), p90: rank(0.9), p99: rank(0.99), mean: sum / n };
}

/** A binary min-heap of request numbers ordered by their end time. */
class Completions {
  readonly #heap: Int32Array;
  readonly #ends: Float64Array;
  size = 0;

  constructor(ends: Float64Array) {
    this.#ends = ends;
    this.#heap = new Int32Array(ends.length);
  }

  peekTime(): number {
    return this.size === 0 ? Number.POSITIVE_INFINITY : this.#ends[this.#heap[0]!]!;
  }

  push(request: number): void {
    const heap = this.#heap;
    const ends = this.#ends;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (ends[heap[parent]!]! <= ends[request]!) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = request;
  }

  pop(): number {
    const heap = this.#heap;
    const ends = this.#ends;
    const top = heap[0]!;
    const last = heap[--this.size]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= this.size) break;
      if (child + 1 < this.size && ends[heap[child + 1]!]! < ends[heap[child]!]!) child++;
      if (ends[heap[child]!]! >= ends[last]!) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}

/** Outage boundaries in time order, to rebuild the eligible set as time passes. */
function outageTimes(endpoints: readonly Required<SimulatedEndpoint>[]): number[] {
  const times = new Set<number>();
  for (const e of endpoints) {
    for (const p of e.outages) {
      times.add(p.fromMs);
      times.add(p.toMs);
    }
  }
  return [...times].sort((a, b) => a - b);
}

function available(
  config: ResolvedSimulation,
  live: readonly EndpointView[],
  time: number,
): EndpointView[] {
  return live.filter(
    (_, i) => !config.endpoints[i]!.outages.some((p) => time >= p.fromMs && time < p.toMs),
  );
}

/**
 * Replays a synthetic workload through a selector in virtual time — no timers, no clock —
 * and reports each endpoint's share and latency percentiles, to compare strategies before
 * deploying one.
 *
 * Requests arrive as a Poisson process at `workload.ratePerSecond`. Each goes to the
 * endpoint `selector.pick()` returns and takes a latency drawn from that endpoint's
 * distribution (times the factor of any slow period it arrives in); it fails with the
 * endpoint's `failureRate`. An endpoint with a finite `concurrency` serves that many
 * requests at once and queues the rest (first come, first served), so its latency grows
 * with its load. Meanwhile the simulation plays the pool's part on the
 * endpoints the selector sees: `inflight` counts requests in progress, and `latency` is a
 * peak-EWMA of answers (Finagle's: a slower answer replaces it at once, faster ones pull
 * it down with decay time `latencyDecayMs`), so load- and latency-aware selectors behave
 * as in production. `selector.update` is called at the start and whenever an outage
 * begins or ends.
 *
 * With `balancers: K` it simulates a fleet — K processes of a service, each balancing on
 * its own: `selector` is then a factory called once per balancer, each balancer keeps its
 * own view of the endpoints (only its own requests in flight, its own latency average),
 * every arriving request goes to a balancer drawn uniformly at random, and the endpoints
 * serve and queue the requests of all. `overall.maxInflight / overall.meanInflight` then
 * shows how well a strategy spreads load on a local view (docs/guides/fleet.md).
 *
 * @param options - see {@link SimulationOptions}
 * @returns per-endpoint and overall figures
 * @throws TypeError or RangeError for an invalid option, naming it; whatever the selector
 *   throws
 * @example
 * ```ts
 * const endpoints = [
 *   { id: 'fast', latency: { kind: 'lognormal', medianMs: 20, sigma: 0.5 } },
 *   { id: 'slow', latency: { kind: 'lognormal', medianMs: 80, sigma: 0.5 } },
 * ] as const;
 * const workload = { requests: 20_000, ratePerSecond: 200 };
 * for (const selector of [new RoundRobin(), new PeakEwma()]) {
 *   const { overall } = simulate({ selector, endpoints, workload, seed: 1 });
 *   console.log(selector.constructor.name, overall.p99);
 * }
 * // 100 processes, each with its own least-connections view:
 * const fleet = simulate({
 *   selector: (random) => new LeastConnections({ random }),
 *   balancers: 100, endpoints, workload, seed: 1,
 * });
 * console.log(fleet.overall.maxInflight / fleet.overall.meanInflight);
 * ```
 */
export function simulate(options: SimulationOptions): SimulationReport {
  const config = resolveSimulation(options);
  const { selectors, route, requests, arrivals, service, keys } = config;
  const fleet = selectors.length;
  const servers: ServerState[] = config.endpoints.map(() => ({
    inflight: 0,
    busy: 0,
    queue: [],
    head: 0,
  }));
  const views: EndpointView[][] = selectors.map(() =>
    config.endpoints.map((e, index) => ({
      id: e.id,
      weight: e.weight,
      inflight: 0,
      latency: 0,
      stamp: 0,
      index,
    })),
  );
  const n = servers.length;
  const arrived = new Float64Array(requests);
  const serviceMs = new Float64Array(requests);
  const ends = new Float64Array(requests);
  const took = new Float64Array(requests);
  const target = new Int32Array(requests);
  const via = new Int32Array(requests);
  const failed = new Uint8Array(requests);
  const picks = new Float64Array(n);
  const failures = new Float64Array(n);
  const peak = new Float64Array(n);
  const inflightSum = new Float64Array(n);
  let maxInflightSum = 0;
  const completions = new Completions(ends);
  const keyNames =
    keys === undefined ? undefined : Array.from({ length: keys }, (_, k) => `key-${k}`);
  const context: PickContext<SelectorEndpoint> = {};
  const changes = outageTimes(config.endpoints);
  let nextChange = 0;
  const decay = config.latencyDecayMs;
  const gapMean = 1000 / config.ratePerSecond;

  const start = (request: number, time: number) => {
    // The wait, then the service time: exact when there is no wait (no float round trip).
    took[request] = time - arrived[request]! + serviceMs[request]!;
    ends[request] = time + serviceMs[request]!;
    completions.push(request);
  };
  const complete = (request: number) => {
    const server = servers[target[request]!]!;
    const endpoint = views[via[request]!]![target[request]!]!;
    const time = ends[request]!;
    const rtt = took[request]!;
    endpoint.inflight--;
    server.inflight--;
    if (server.head < server.queue.length) {
      start(server.queue[server.head++]!, time);
      if (server.head === server.queue.length) {
        server.queue.length = 0;
        server.head = 0;
      }
    } else {
      server.busy--;
    }
    // Finagle's peak EWMA: jump up at once, decay down with the time since the last sample.
    if (endpoint.latency === 0 || rtt > endpoint.latency) {
      endpoint.latency = rtt;
    } else {
      const w = Math.exp(-(time - endpoint.stamp) / decay);
      endpoint.latency = endpoint.latency * w + rtt * (1 - w);
    }
    endpoint.stamp = time;
  };
  const advanceTo = (time: number) => {
    while (completions.peekTime() <= time) complete(completions.pop());
    let changed = false;
    while (nextChange < changes.length && changes[nextChange]! <= time) {
      nextChange++;
      changed = true;
    }
    if (changed) {
      for (let b = 0; b < fleet; b++) selectors[b]!.update(available(config, views[b]!, time));
    }
  };

  for (let b = 0; b < fleet; b++) selectors[b]!.update(available(config, views[b]!, 0));
  while (nextChange < changes.length && changes[nextChange]! <= 0) nextChange++;
  let now = 0;
  let unserved = 0;
  let served = 0;
  for (let request = 0; request < requests; request++) {
    // Fixed draws per request, whatever the strategy: two from `arrivals`, three from
    // `service`, so the i-th request sees the same numbers under every strategy (a fleet
    // draws its balancer from a stream of its own).
    now += -gapMean * Math.log(1 - arrivals());
    const keyDraw = arrivals();
    const u1 = service();
    const u2 = service();
    const u3 = service();
    const b = route === undefined ? 0 : Math.floor(route() * fleet);
    advanceTo(now);
    let busiest = 0;
    for (let i = 0; i < n; i++) {
      const load = servers[i]!.inflight;
      inflightSum[i]! += load;
      if (load > busiest) busiest = load;
    }
    maxInflightSum += busiest;
    if (keyNames !== undefined) context.key = keyNames[Math.floor(keyDraw * keyNames.length)]!;
    const live = views[b]!;
    const picked = selectors[b]!.pick(context);
    const index = (picked as Partial<EndpointView> | undefined)?.index;
    const endpoint = index === undefined ? undefined : live[index];
    if (endpoint === undefined || endpoint !== picked) {
      if (picked !== undefined) {
        throw new TypeError(
          `simulate: the selector returned an endpoint it was not given: ${quote(picked.id)}`,
        );
      }
      unserved++;
      ends[request] = now;
      target[request] = -1;
      continue;
    }
    const spec = config.endpoints[endpoint.index]!;
    const latency = sampleLatency(spec.latency, u1, u2) * factorAt(spec, now);
    const i = endpoint.index;
    const server = servers[i]!;
    target[request] = i;
    via[request] = b;
    arrived[request] = now;
    serviceMs[request] = latency;
    failed[request] = u3 < spec.failureRate ? 1 : 0;
    picks[i]!++;
    served++;
    endpoint.inflight++;
    server.inflight++;
    if (server.inflight > peak[i]!) peak[i] = server.inflight;
    if (server.busy < spec.concurrency) {
      server.busy++;
      start(request, now);
    } else {
      server.queue.push(request);
    }
  }
  let durationMs = now;
  while (completions.size > 0) {
    const request = completions.pop();
    durationMs = Math.max(durationMs, ends[request]!);
    complete(request);
  }

  const perEndpoint = Array.from({ length: n }, (_, i) => new Float64Array(picks[i]!));
  const all = new Float64Array(served);
  const filled = new Int32Array(n);
  let k = 0;
  for (let request = 0; request < requests; request++) {
    const i = target[request]!;
    if (i < 0) continue;
    perEndpoint[i]![filled[i]!++] = took[request]!;
    all[k++] = took[request]!;
    if (failed[request] === 1) failures[i]!++;
  }
  let failedTotal = unserved;
  for (let i = 0; i < n; i++) failedTotal += failures[i]!;
  let meanSum = 0;
  for (let i = 0; i < n; i++) meanSum += inflightSum[i]!;
  return {
    durationMs,
    endpoints: config.endpoints.map((e, i) => ({
      id: e.id,
      picks: picks[i]!,
      share: served === 0 ? 0 : picks[i]! / served,
      failures: failures[i]!,
      peakInflight: peak[i]!,
      meanInflight: inflightSum[i]! / requests,
      latency: summarise(perEndpoint[i]!),
    })),
    overall: {
      requests,
      failures: failedTotal,
      unserved,
      ...summarise(all),
      meanInflight: meanSum / (n * requests),
      maxInflight: maxInflightSum / requests,
    },
    balancers: fleet,
  };
}
