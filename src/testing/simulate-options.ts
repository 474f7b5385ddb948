import type { Selector, SelectorEndpoint } from '../selectors/selector.js';
import { checkFunction, checkNumber, checkOptions, checkString, quote } from '../validate.js';
import { seededRandom } from './seeded-random.js';

/**
 * How long an endpoint takes to answer, in virtual milliseconds:
 * - `constant`: always `ms`;
 * - `exponential`: memoryless, with mean `meanMs` (a queueing server);
 * - `lognormal`: median `medianMs` and shape `sigma` (the usual long tail of real
 *   services: sigma 0.5 puts p99 near 3.2 × the median, sigma 1 near 10 ×).
 */
export type LatencyDistribution =
  | {
      /** Every request takes the same time. */
      readonly kind: 'constant';
      /** The latency, ≥ 0. */
      readonly ms: number;
    }
  | {
      /** Exponentially distributed latency. */
      readonly kind: 'exponential';
      /** The mean, > 0. */
      readonly meanMs: number;
    }
  | {
      /** Log-normally distributed latency. */
      readonly kind: 'lognormal';
      /** The median, > 0. */
      readonly medianMs: number;
      /** Standard deviation of the latency's natural log, 0 to 10. */
      readonly sigma: number;
    };

/** A stretch of virtual time, `[fromMs, toMs)`. */
export interface SimulationPeriod {
  /** Start, in ms from the start of the simulation. */
  readonly fromMs: number;
  /** End (excluded), > `fromMs`. */
  readonly toMs: number;
}

/** A period during which an endpoint is slower. */
export interface SlowPeriod extends SimulationPeriod {
  /** Latencies of requests arriving in the period are multiplied by this, > 0. */
  readonly factor: number;
}

/** An endpoint of a simulation: how it answers. */
export interface SimulatedEndpoint {
  /** Unique id; reports use it. */
  readonly id: string;
  /**
   * Weight the selector sees.
   * @defaultValue `1`
   */
  readonly weight?: number;
  /** Latency of its answers. */
  readonly latency: LatencyDistribution;
  /**
   * Requests it serves at once; more wait in its queue, first come first served, and
   * their latency includes the wait. A server with 8 workers: `concurrency: 8`.
   * @defaultValue `Infinity` (no queue: latency does not grow with load)
   */
  readonly concurrency?: number;
  /**
   * Probability that a request fails (it still takes its latency), 0 to 1.
   * @defaultValue `0`
   */
  readonly failureRate?: number;
  /**
   * Periods when it is slower.
   * @defaultValue `[]`
   */
  readonly slowPeriods?: readonly SlowPeriod[];
  /**
   * Periods when it is out of the set given to the selector (requests already sent to it
   * finish normally), as when health checks take it out.
   * @defaultValue `[]`
   */
  readonly outages?: readonly SimulationPeriod[];
}

/** The traffic of a simulation: an open-loop Poisson arrival process. */
export interface SimulationWorkload {
  /** Requests to send, 1 to {@link MAX_SIMULATION_REQUESTS}. */
  readonly requests: number;
  /** Mean arrival rate, requests per virtual second, > 0. */
  readonly ratePerSecond: number;
  /**
   * Distinct hash keys: each request carries `key-<k>` for a uniform k in [0, keys), for
   * hashing selectors. Without it, requests carry no key.
   * @defaultValue `undefined` (no keys)
   */
  readonly keys?: number;
}

/**
 * Makes the selector of one balancer of a fleet: `balancer` counts from 0, and `random` is
 * a stream of its own (seeded from the simulation's seed), to pass as the selector's
 * `random` so runs repeat. A {@link SelectorFactory} of `checkSelectorLaws` fits.
 */
export type FleetSelectorFactory = (
  random: () => number,
  balancer: number,
) => Selector<SelectorEndpoint>;

/** Options of {@link simulate}. */
export interface SimulationOptions {
  /**
   * The selector under test; `simulate` calls its `update` and `pick`. With `balancers`
   * above 1, a factory that makes one selector per balancer (an instance cannot be K
   * independent balancers).
   */
  readonly selector: Selector<SelectorEndpoint> | FleetSelectorFactory;
  /**
   * A fleet: this many independent balancers (the processes of a service), each with its
   * own selector from the `selector` factory and its own view of the endpoints — its own
   * requests in flight and its own latency average, as a process sees them — over the same
   * endpoints, which serve (and queue) the requests of all. Each request of the shared
   * arrival process goes to a balancer chosen uniformly at random. An integer from 1 to
   * {@link MAX_SIMULATION_BALANCERS}.
   * @defaultValue `1`
   */
  readonly balancers?: number;
  /** The endpoints, at least one. */
  readonly endpoints: readonly SimulatedEndpoint[];
  /** The traffic. */
  readonly workload: SimulationWorkload;
  /**
   * Seed of the workload's randomness (arrivals, keys, latencies, failures). The same
   * seed gives every strategy the same arrivals and the same draws for the i-th request
   * (common random numbers), so differences come from the strategy. Not with `random`.
   * @defaultValue {@link DEFAULT_SIMULATION_SEED} (1)
   */
  readonly seed?: number;
  /**
   * Source of the workload's randomness instead of `seed`.
   * @defaultValue a {@link seededRandom} stream from `seed`
   */
  readonly random?: () => number;
  /**
   * Decay time of the peak-EWMA latency the simulation keeps on each endpoint (Finagle's
   * `decayTime`): a sample's weight halves every `latencyDecayMs × ln 2`.
   * @defaultValue {@link DEFAULT_LATENCY_DECAY_MS} (10 000)
   */
  readonly latencyDecayMs?: number;
}

/** Most balancers of a fleet simulation. */
export const MAX_SIMULATION_BALANCERS = 100_000;
/** Most requests one simulation may send: latencies are kept to compute percentiles. */
export const MAX_SIMULATION_REQUESTS = 1_000_000;
/** Seed of a simulation given neither `seed` nor `random`. */
export const DEFAULT_SIMULATION_SEED = 1;
/** Decay time of the simulated peak-EWMA latency, as in Finagle. */
export const DEFAULT_LATENCY_DECAY_MS = 10_000;

/** Options resolved and checked. @internal */
export interface ResolvedSimulation {
  /** One selector per balancer. */
  readonly selectors: readonly Selector<SelectorEndpoint>[];
  /** Draws the balancer of each request; undefined with one balancer (no draw). */
  readonly route: (() => number) | undefined;
  readonly endpoints: readonly Required<SimulatedEndpoint>[];
  readonly requests: number;
  readonly ratePerSecond: number;
  readonly keys: number | undefined;
  readonly arrivals: () => number;
  readonly service: () => number;
  readonly latencyDecayMs: number;
}

const OWNER = 'simulate';

function checkLatency(value: unknown, where: string): LatencyDistribution {
  if (typeof value !== 'object' || value === null) {
    throw new TypeError(`latency must be an object with a kind, got ${quote(value)} (${where})`);
  }
  const kind = (value as { kind?: unknown }).kind;
  if (kind === 'constant') {
    const o = checkOptions(`${OWNER}: latency of ${where}`, value, ['kind', 'ms']);
    return { kind, ms: checkNumber('latency.ms', o.ms, { min: 0 }, where) };
  }
  if (kind === 'exponential') {
    const o = checkOptions(`${OWNER}: latency of ${where}`, value, ['kind', 'meanMs']);
    return {
      kind,
      meanMs: checkNumber('latency.meanMs', o.meanMs, { min: 0, minExclusive: true }, where),
    };
  }
  if (kind === 'lognormal') {
    const o = checkOptions(`${OWNER}: latency of ${where}`, value, ['kind', 'medianMs', 'sigma']);
    return {
      kind,
      medianMs: checkNumber('latency.medianMs', o.medianMs, { min: 0, minExclusive: true }, where),
      sigma: checkNumber('latency.sigma', o.sigma, { min: 0, max: 10 }, where),
    };
  }
  throw new TypeError(
    `latency.kind must be "constant", "exponential" or "lognormal", got ${quote(kind)} (${where})`,
  );
}

function checkPeriods<P extends SimulationPeriod>(
  name: string,
  value: unknown,
  where: string,
  factor: boolean,
): P[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    throw new TypeError(`${name} must be an array, got ${quote(value)} (${where})`);
  }
  return value.map((period: unknown, i) => {
    const at = `${name}[${i}]`;
    const o = checkOptions(
      `${OWNER}: ${at} of ${where}`,
      period,
      factor ? ['fromMs', 'toMs', 'factor'] : ['fromMs', 'toMs'],
    );
    const fromMs = checkNumber(`${at}.fromMs`, o.fromMs, { min: 0 }, where);
    const toMs = checkNumber(`${at}.toMs`, o.toMs, { min: fromMs, minExclusive: true }, where);
    if (!factor) return { fromMs, toMs } as P;
    const f = checkNumber(`${at}.factor`, o.factor, { min: 0, minExclusive: true }, where);
    return { fromMs, toMs, factor: f } as unknown as P;
  });
}

function checkEndpoint(value: unknown, i: number, ids: Set<string>): Required<SimulatedEndpoint> {
  const o = checkOptions(`${OWNER}: endpoints[${i}]`, value, [
    'id',
    'weight',
    'latency',
    'concurrency',
    'failureRate',
    'slowPeriods',
    'outages',
  ]);
  const id = checkString('id', o.id, `endpoints[${i}]`);
  if (ids.has(id))
    throw new RangeError(`${OWNER}: duplicate endpoint id ${quote(id)} at endpoints[${i}]`);
  ids.add(id);
  const where = `endpoint ${quote(id)}`;
  return {
    id,
    weight:
      o.weight === undefined
        ? 1
        : checkNumber('weight', o.weight, { min: 0, minExclusive: true }, where),
    latency: checkLatency(o.latency, where),
    concurrency:
      o.concurrency === undefined
        ? Number.POSITIVE_INFINITY
        : checkNumber(
            'concurrency',
            o.concurrency,
            { min: 1, integer: true, allowInfinity: true },
            where,
          ),
    failureRate:
      o.failureRate === undefined
        ? 0
        : checkNumber('failureRate', o.failureRate, { min: 0, max: 1 }, where),
    slowPeriods: checkPeriods<SlowPeriod>('slowPeriods', o.slowPeriods, where, true),
    outages: checkPeriods<SimulationPeriod>('outages', o.outages, where, false),
  };
}

/** Checks and resolves the options of `simulate`. @internal */
export function resolveSimulation(options: SimulationOptions): ResolvedSimulation {
  if (options === undefined) throw new TypeError(`${OWNER}: options are required, got undefined`);
  const o = checkOptions(OWNER, options, [
    'selector',
    'endpoints',
    'workload',
    'seed',
    'random',
    'latencyDecayMs',
    'balancers',
  ]);
  const balancers =
    o.balancers === undefined
      ? 1
      : checkNumber(
          'balancers',
          o.balancers,
          { min: 1, max: MAX_SIMULATION_BALANCERS, integer: true },
          OWNER,
        );
  if (typeof o.selector !== 'function') checkSelector(o.selector, 'selector');
  if (balancers > 1 && typeof o.selector !== 'function') {
    throw new TypeError(
      `${OWNER}: balancers ${balancers} needs selector to be a factory ((random, balancer) => selector): one instance cannot be ${balancers} independent balancers`,
    );
  }
  if (!Array.isArray(o.endpoints) || o.endpoints.length === 0) {
    throw new TypeError(`${OWNER}: endpoints must be a non-empty array, got ${quote(o.endpoints)}`);
  }
  const ids = new Set<string>();
  const endpoints = o.endpoints.map((e: unknown, i) => checkEndpoint(e, i, ids));
  const w = checkOptions(`${OWNER}: workload`, o.workload ?? null, [
    'requests',
    'ratePerSecond',
    'keys',
  ]);
  const bounds = { min: 1, max: MAX_SIMULATION_REQUESTS, integer: true };
  const requests = checkNumber('workload.requests', w.requests, bounds, OWNER);
  const ratePerSecond = checkNumber(
    'workload.ratePerSecond',
    w.ratePerSecond,
    { min: 0, minExclusive: true },
    OWNER,
  );
  const keys =
    w.keys === undefined ? undefined : checkNumber('workload.keys', w.keys, bounds, OWNER);
  if (o.seed !== undefined && o.random !== undefined) {
    throw new TypeError(`${OWNER}: give seed or random, not both`);
  }
  let arrivals: () => number;
  let service: () => number;
  if (o.random !== undefined) {
    arrivals = service = checkFunction<() => number>('random', o.random, OWNER);
  } else {
    const seed =
      o.seed === undefined
        ? DEFAULT_SIMULATION_SEED
        : checkNumber(
            'seed',
            o.seed,
            { integer: true, min: -(2 ** 53 - 1), max: 2 ** 53 - 1 },
            OWNER,
          );
    // Two streams, so a strategy's choices cannot shift the arrivals (common random numbers).
    arrivals = seededRandom(seed);
    service = seededRandom(Math.floor(arrivals() * 2 ** 32));
  }
  let selectors: Selector<SelectorEndpoint>[];
  let route: (() => number) | undefined;
  if (typeof o.selector === 'function') {
    const factory = o.selector as FleetSelectorFactory;
    // Streams of their own, so the fleet's draws do not shift the workload's.
    const base = o.random === undefined ? fleetSeed(o.seed as number | undefined) : undefined;
    const random = o.random as (() => number) | undefined;
    const streamOf = (i: number) =>
      seededRandom(base === undefined ? Math.floor(random!() * 2 ** 32) : base + i + 1);
    selectors = Array.from({ length: balancers }, (_, i) => {
      const selector = factory(streamOf(i), i);
      checkSelector(selector, `selector(random, ${i})`);
      return selector;
    });
    if (balancers > 1) route = random ?? seededRandom(base!);
  } else {
    selectors = [o.selector as Selector<SelectorEndpoint>];
  }
  const latencyDecayMs =
    o.latencyDecayMs === undefined
      ? DEFAULT_LATENCY_DECAY_MS
      : checkNumber('latencyDecayMs', o.latencyDecayMs, { min: 0, minExclusive: true }, OWNER);
  return {
    selectors,
    route,
    endpoints,
    requests,
    ratePerSecond,
    keys,
    arrivals,
    service,
    latencyDecayMs,
  };
}

function checkSelector(selector: unknown, what: string): void {
  if (
    typeof selector !== 'object' ||
    selector === null ||
    typeof (selector as Selector).update !== 'function' ||
    typeof (selector as Selector).pick !== 'function'
  ) {
    throw new TypeError(
      `${OWNER}: ${what} must be a selector (an object with update() and pick()), got ${quote(selector)}`,
    );
  }
}

/** A seed for the fleet's streams, apart from the workload's. */
function fleetSeed(seed: number | undefined): number {
  return (Math.imul((seed ?? DEFAULT_SIMULATION_SEED) | 0, 0x9e3779b1) >>> 0) * 1_000_003;
}
