import { describe, expect, it } from 'vitest';
import {
  LeastConnections,
  Maglev,
  PowerOfTwoChoices,
  RingHash,
  RoundRobin,
} from '../../src/index.js';
import type { PickContext, Selector, SelectorEndpoint } from '../../src/selectors/selector.js';
import {
  type SimulatedEndpoint,
  type SimulationOptions,
  seededRandom,
  simulate,
} from '../../src/testing/index.js';

const endpoints: SimulatedEndpoint[] = Array.from({ length: 8 }, (_, i) => ({
  id: `http://127.0.0.1:${8001 + i}`,
  latency: { kind: 'lognormal', medianMs: 40, sigma: 0.5 },
  concurrency: 16,
}));
// About 1.5 requests in flight per endpoint on average: enough for load to matter.
const workload = { requests: 20_000, ratePerSecond: 300 };

/** Records, at each pick, the in-flight counts its balancer shows it. */
class Watcher implements Selector {
  readonly seen: number[] = [];
  #endpoints: readonly SelectorEndpoint[] = [];
  #inner = new RoundRobin();
  update(list: readonly SelectorEndpoint[]): void {
    this.#endpoints = list;
    this.#inner.update(list);
  }
  pick(context?: PickContext): SelectorEndpoint | undefined {
    let sum = 0;
    for (const e of this.#endpoints) sum += e.inflight;
    this.seen.push(sum);
    return this.#inner.pick(context);
  }
}

describe('simulate: a fleet of balancers', () => {
  it('gives each balancer its own selector, random stream and view of in-flight requests', () => {
    const made: Watcher[] = [];
    const randoms: number[] = [];
    const report = simulate({
      selector: (random, balancer) => {
        expect(balancer).toBe(made.length);
        randoms.push(random());
        const w = new Watcher();
        made.push(w);
        return w;
      },
      balancers: 4,
      endpoints,
      workload,
      seed: 3,
    });
    expect(report.balancers).toBe(4);
    expect(made).toHaveLength(4);
    expect(new Set(randoms).size).toBe(4);
    // The shared arrivals split across the balancers, about a quarter each.
    const counts = made.map((w) => w.seen.length);
    expect(counts.reduce((a, b) => a + b)).toBe(workload.requests);
    for (const c of counts) expect(c).toBeGreaterThan(workload.requests * 0.2);
    // Each sees only its own requests: far fewer in flight than the fleet has.
    const meanSeen = made.flatMap((w) => w.seen).reduce((a, b) => a + b) / workload.requests;
    const fleetMean = report.overall.meanInflight * endpoints.length;
    expect(meanSeen).toBeLessThan(fleetMean * 0.4);
    expect(meanSeen).toBeGreaterThan(fleetMean * 0.1);
  });

  it('is deterministic under a seed, and keeps the arrivals whatever the fleet size', () => {
    const run = (balancers: number) =>
      simulate({
        selector: (random) => new PowerOfTwoChoices({ random }),
        balancers,
        endpoints,
        workload,
        seed: 9,
      });
    expect(run(10)).toEqual(run(10));
    expect(run(1).overall.requests).toBe(run(100).overall.requests);
  });

  it('hashing selectors agree across balancers: the same picks at any fleet size', () => {
    const keyed = { ...workload, keys: 5_000 };
    for (const make of [() => new Maglev(), () => new RingHash()]) {
      const one = simulate({ selector: make(), endpoints, workload: keyed, seed: 4 });
      const many = simulate({
        selector: make,
        balancers: 200,
        endpoints,
        workload: keyed,
        seed: 4,
      });
      expect(many.endpoints.map((e) => e.picks)).toEqual(one.endpoints.map((e) => e.picks));
    }
  });

  it('a local view spreads least-connections less evenly as the fleet grows', () => {
    const imbalance = (balancers: number) => {
      const { overall } = simulate({
        selector: (random) => new LeastConnections({ random }),
        balancers,
        endpoints,
        workload,
        seed: 5,
      });
      return overall.maxInflight / overall.meanInflight;
    };
    const alone = imbalance(1);
    const fleet = imbalance(500);
    expect(alone).toBeGreaterThanOrEqual(1);
    expect(fleet).toBeGreaterThan(alone * 1.2);
  });

  it('with one balancer, a factory and an instance give the same report', () => {
    const instance = simulate({
      selector: new PowerOfTwoChoices({ random: seededRandom(1) }),
      endpoints,
      workload,
      seed: 2,
    });
    const factory = simulate({
      selector: () => new PowerOfTwoChoices({ random: seededRandom(1) }),
      endpoints,
      workload,
      seed: 2,
    });
    expect(factory).toEqual(instance);
  });

  it('rejects a bad fleet', () => {
    const base = { endpoints, workload: { requests: 10, ratePerSecond: 10 } };
    const run = (patch: Record<string, unknown>) => () =>
      simulate({ ...base, ...patch } as unknown as SimulationOptions);
    expect(run({ selector: new RoundRobin(), balancers: 3 })).toThrow(
      /^simulate: balancers 3 needs selector to be a factory/,
    );
    expect(run({ selector: () => new RoundRobin(), balancers: 0 })).toThrow(
      /^balancers must be an integer >= 1 and <= 100000, got 0 \(simulate\)/,
    );
    expect(run({ selector: () => new RoundRobin(), balancers: 2.5 })).toThrow(RangeError);
    expect(run({ selector: () => ({}), balancers: 2 })).toThrow(
      /^simulate: selector\(random, 0\) must be a selector/,
    );
  });
});
