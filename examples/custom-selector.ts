/**
 * A custom load-balancing strategy, checked and compared with switchyard/testing.
 *
 * `LeastLatency` sends each request to the endpoint with the lowest expected latency,
 * `latency × (inflight + 1) / weight`, looking at every endpoint (PeakEwma looks at two).
 * The example checks it against the selector laws, then simulates a fleet with one slow
 * endpoint and prints how each strategy fares.
 *
 * Run (in a clone, after `npm ci`): npm run example examples/custom-selector.ts
 */
import {
  PeakEwma,
  type PickContext,
  PowerOfTwoChoices,
  RoundRobin,
  type Selector,
  type SelectorEndpoint,
} from 'switchyard';
import {
  checkSelectorLaws,
  type SimulatedEndpoint,
  seededRandom,
  simulate,
} from 'switchyard/testing';

/** Options of {@link LeastLatency}. */
interface LeastLatencyOptions {
  /** Source of uniform numbers in [0, 1), used to break ties. @defaultValue Math.random */
  readonly random?: () => number;
  /** Latency assumed for an endpoint not measured yet, in ms. @defaultValue 100 */
  readonly unknownLatencyMs?: number;
}

/** Lowest `latency × (inflight + 1) / weight` over all endpoints; ties broken at random. */
class LeastLatency<E extends SelectorEndpoint = SelectorEndpoint> implements Selector<E> {
  readonly #random: () => number;
  readonly #unknownLatencyMs: number;
  #endpoints: readonly E[] = [];

  constructor(options: LeastLatencyOptions = {}) {
    this.#random = options.random ?? Math.random;
    this.#unknownLatencyMs = options.unknownLatencyMs ?? 100;
  }

  update(endpoints: readonly E[]): void {
    this.#endpoints = endpoints;
  }

  pick(context?: PickContext<E>): E | undefined {
    const exclude = context?.exclude;
    let best: E | undefined;
    let bestCost = Number.POSITIVE_INFINITY;
    let ties = 0;
    for (const endpoint of this.#endpoints) {
      if (exclude?.has(endpoint.id)) continue;
      const latency = endpoint.latency > 0 ? endpoint.latency : this.#unknownLatencyMs;
      const cost = (latency * (endpoint.inflight + 1)) / endpoint.weight;
      if (cost < bestCost) {
        best = endpoint;
        bestCost = cost;
        ties = 1;
      } else if (cost === bestCost && this.#random() * ++ties < 1) {
        // Reservoir sampling: each of the k tied endpoints ends up chosen with probability 1/k.
        best = endpoint;
      }
    }
    return best;
  }
}

// 1. The laws: throws a SelectorLawError with a counterexample if one does not hold.
const report = checkSelectorLaws((random) => new LeastLatency({ random }), {
  kind: 'least-loaded',
  seed: 42,
});
console.log(`LeastLatency keeps the laws: ${report.laws.join(', ')}`);

// 2. A fleet of four, one of them five times slower, at 60 % of the fleet's capacity.
const endpoints: SimulatedEndpoint[] = [
  { id: 'http://127.0.0.1:8081', latency: { kind: 'lognormal', medianMs: 20, sigma: 0.5 } },
  { id: 'http://127.0.0.1:8082', latency: { kind: 'lognormal', medianMs: 20, sigma: 0.5 } },
  { id: 'http://127.0.0.1:8083', latency: { kind: 'lognormal', medianMs: 20, sigma: 0.5 } },
  { id: 'http://127.0.0.1:8084', latency: { kind: 'lognormal', medianMs: 100, sigma: 0.5 } },
];
const workload = { requests: 20_000, ratePerSecond: 100 };
const strategies: [string, Selector][] = [
  ['RoundRobin', new RoundRobin({ random: seededRandom(1) })],
  ['PowerOfTwoChoices', new PowerOfTwoChoices({ random: seededRandom(1) })],
  ['PeakEwma', new PeakEwma({ random: seededRandom(1) })],
  ['LeastLatency', new LeastLatency({ random: seededRandom(1) })],
];

console.log('\nstrategy            slow share   p50 ms   p99 ms   mean ms');
for (const [name, selector] of strategies) {
  // The same seed gives every strategy the same arrivals and latency draws.
  const { endpoints: per, overall } = simulate({ selector, endpoints, workload, seed: 7 });
  const slow = per[3]!;
  console.log(
    [
      name.padEnd(18),
      `${(100 * slow.share).toFixed(1)} %`.padStart(11),
      overall.p50.toFixed(1).padStart(8),
      overall.p99.toFixed(1).padStart(8),
      overall.mean.toFixed(1).padStart(9),
    ].join(' '),
  );
}
