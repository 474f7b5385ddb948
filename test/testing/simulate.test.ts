import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  LeastConnections,
  PeakEwma,
  PowerOfTwoChoices,
  RoundRobin,
  Random as UniformRandom,
} from '../../src/index.js';
import type { PickContext, Selector, SelectorEndpoint } from '../../src/selectors/selector.js';
import {
  type SimulatedEndpoint,
  type SimulationOptions,
  seededRandom,
  simulate,
} from '../../src/testing/index.js';

/** Round robin that records what the simulation shows it. */
class Spy implements Selector {
  readonly updates: string[][] = [];
  readonly seen = new Set<SelectorEndpoint>();
  readonly observed: { inflight: number[]; latency: number[]; key: string | undefined }[] = [];
  #endpoints: readonly SelectorEndpoint[] = [];
  #next = 0;
  update(endpoints: readonly SelectorEndpoint[]): void {
    this.#endpoints = endpoints;
    this.updates.push(endpoints.map((e) => e.id));
    for (const e of endpoints) this.seen.add(e);
  }
  pick(context?: PickContext): SelectorEndpoint | undefined {
    this.observed.push({
      inflight: this.#endpoints.map((e) => e.inflight),
      latency: this.#endpoints.map((e) => e.latency),
      key: context?.key,
    });
    const n = this.#endpoints.length;
    return n === 0 ? undefined : this.#endpoints[this.#next++ % n];
  }
}

const fastAndSlow: SimulatedEndpoint[] = [
  { id: 'http://127.0.0.1:8001', latency: { kind: 'lognormal', medianMs: 20, sigma: 0.5 } },
  { id: 'http://127.0.0.1:8002', latency: { kind: 'lognormal', medianMs: 20, sigma: 0.5 } },
  { id: 'http://127.0.0.1:8003', latency: { kind: 'lognormal', medianMs: 20, sigma: 0.5 } },
  { id: 'http://127.0.0.1:8004', latency: { kind: 'lognormal', medianMs: 100, sigma: 0.5 } },
];
const workload = { requests: 20_000, ratePerSecond: 100 };
const slowShare = (selector: Selector) =>
  simulate({ selector, endpoints: fastAndSlow, workload, seed: 7 }).endpoints[3]!.share;

describe('simulate', () => {
  it('is deterministic under a seed', () => {
    const run = () =>
      simulate({
        selector: new PowerOfTwoChoices({ random: seededRandom(3) }),
        endpoints: fastAndSlow,
        workload: { requests: 5000, ratePerSecond: 200 },
        seed: 11,
      });
    expect(run()).toEqual(run());
  });

  it('gives every strategy the same workload (common random numbers)', () => {
    const one: SimulatedEndpoint[] = [
      { id: 'only', latency: { kind: 'exponential', meanMs: 30 }, failureRate: 0.1 },
    ];
    const w = { requests: 3000, ratePerSecond: 50 };
    const a = simulate({ selector: new RoundRobin(), endpoints: one, workload: w, seed: 5 });
    const b = simulate({ selector: new LeastConnections(), endpoints: one, workload: w, seed: 5 });
    expect(b).toEqual(a);
    const c = simulate({ selector: new RoundRobin(), endpoints: one, workload: w, seed: 6 });
    expect(c.overall.mean).not.toBe(a.overall.mean);
  });

  it('sends less traffic to a slow endpoint under PeakEwma and LeastConnections than under RoundRobin', () => {
    const roundRobin = slowShare(new RoundRobin({ random: seededRandom(1) }));
    expect(roundRobin).toBe(0.25);
    expect(slowShare(new LeastConnections({ random: seededRandom(1) }))).toBeLessThan(0.2);
    expect(slowShare(new PowerOfTwoChoices({ random: seededRandom(1) }))).toBeLessThan(0.2);
    expect(slowShare(new PeakEwma({ random: seededRandom(1) }))).toBeLessThan(0.05);
  });

  it('lowers tail latency with PeakEwma against a slow endpoint', () => {
    const p99 = (selector: Selector) =>
      simulate({ selector, endpoints: fastAndSlow, workload, seed: 7 }).overall.p99;
    expect(p99(new PeakEwma({ random: seededRandom(1) }))).toBeLessThan(
      p99(new RoundRobin({ random: seededRandom(1) })) / 2,
    );
  });

  it('reports constant latencies exactly, and the arrival rate as the duration', () => {
    const report = simulate({
      selector: new RoundRobin(),
      endpoints: [
        { id: 'a', latency: { kind: 'constant', ms: 10 } },
        { id: 'b', latency: { kind: 'constant', ms: 30 } },
      ],
      workload: { requests: 10_000, ratePerSecond: 1000 },
    });
    expect(report.endpoints.map((e) => e.latency)).toEqual([
      { p50: 10, p90: 10, p99: 10, mean: 10 },
      { p50: 30, p90: 30, p99: 30, mean: 30 },
    ]);
    expect(report.overall).toMatchObject({ p50: 10, p90: 30, p99: 30, mean: 20, failures: 0 });
    // 10 000 arrivals 1 ms apart on average: 10 s, give or take 6 × √10 000 ms.
    expect(Math.abs(report.durationMs - 10_000)).toBeLessThan(600);
  });

  it('samples exponential and lognormal latencies with the right centre', () => {
    const report = simulate({
      selector: new RoundRobin(),
      endpoints: [
        { id: 'exp', latency: { kind: 'exponential', meanMs: 40 } },
        { id: 'log', latency: { kind: 'lognormal', medianMs: 40, sigma: 1 } },
      ],
      workload: { requests: 40_000, ratePerSecond: 1000 },
    });
    const [exp, log] = report.endpoints;
    expect(exp!.latency.mean).toBeGreaterThan(38);
    expect(exp!.latency.mean).toBeLessThan(42);
    expect(exp!.latency.p50).toBeCloseTo(40 * Math.LN2, -0.5);
    expect(log!.latency.p50).toBeGreaterThan(37);
    expect(log!.latency.p50).toBeLessThan(43);
    // p99 of a lognormal: median × e^(2.326 σ) ≈ 10.2 × median.
    expect(log!.latency.p99 / log!.latency.p50).toBeGreaterThan(8);
    expect(log!.latency.p99 / log!.latency.p50).toBeLessThan(13);
  });

  it('fails requests at the failure rate', () => {
    const report = simulate({
      selector: new RoundRobin(),
      endpoints: [
        { id: 'flaky', latency: { kind: 'constant', ms: 1 }, failureRate: 0.3 },
        { id: 'dead', latency: { kind: 'constant', ms: 1 }, failureRate: 1 },
        { id: 'fine', latency: { kind: 'constant', ms: 1 } },
      ],
      workload: { requests: 30_000, ratePerSecond: 1000 },
    });
    const [flaky, dead, fine] = report.endpoints;
    // Binomial(10 000, 0.3): standard deviation ≈ 46.
    expect(Math.abs(flaky!.failures - 3000)).toBeLessThan(6 * 46);
    expect(dead!.failures).toBe(dead!.picks);
    expect(fine!.failures).toBe(0);
    expect(report.overall.failures).toBe(flaky!.failures + dead!.failures);
  });

  it('stretches latencies in slow periods', () => {
    const report = simulate({
      selector: new RoundRobin(),
      endpoints: [
        {
          id: 'a',
          latency: { kind: 'constant', ms: 10 },
          slowPeriods: [{ fromMs: 0, toMs: 1e12, factor: 4 }],
        },
      ],
      workload: { requests: 100, ratePerSecond: 10 },
    });
    expect(report.overall.p50).toBe(40);
  });

  it('queues requests past an endpoint’s concurrency (M/D/1: mean wait ρ S / 2(1 − ρ))', () => {
    const report = simulate({
      selector: new RoundRobin(),
      endpoints: [{ id: 'a', latency: { kind: 'constant', ms: 10 }, concurrency: 1 }],
      workload: { requests: 20_000, ratePerSecond: 50 },
    });
    // ρ = 50/s × 10 ms = 0.5: mean wait 5 ms, so 15 ms in all.
    expect(report.overall.mean).toBeGreaterThan(13.5);
    expect(report.overall.mean).toBeLessThan(16.5);
    expect(report.overall.p50).toBeGreaterThanOrEqual(10);
    expect(report.endpoints[0]!.peakInflight).toBeGreaterThan(1);
  });

  it('overloads a slow queueing endpoint under RoundRobin, not under LeastConnections', () => {
    const endpoints: SimulatedEndpoint[] = [
      { id: 'fast', latency: { kind: 'exponential', meanMs: 20 }, concurrency: 4 },
      // 4 slots × 10 per second: 40 requests/s at most, less than round robin's half of 100.
      { id: 'slow', latency: { kind: 'exponential', meanMs: 100 }, concurrency: 4 },
    ];
    const w = { requests: 10_000, ratePerSecond: 100 };
    const rr = simulate({ selector: new RoundRobin(), endpoints, workload: w, seed: 3 });
    const lc = simulate({
      selector: new LeastConnections({ random: seededRandom(1) }),
      endpoints,
      workload: w,
      seed: 3,
    });
    expect(rr.endpoints[1]!.peakInflight).toBeGreaterThan(100);
    expect(lc.overall.p99).toBeLessThan(rr.overall.p99 / 5);
  });

  it('shows the selector inflight, a peak-EWMA latency and keys', () => {
    const spy = new Spy();
    simulate({
      selector: spy,
      endpoints: [
        { id: 'a', latency: { kind: 'constant', ms: 500 } },
        { id: 'b', latency: { kind: 'constant', ms: 100 } },
      ],
      workload: { requests: 2000, ratePerSecond: 100, keys: 3 },
    });
    const observed = spy.observed;
    expect(observed[0]).toEqual({ inflight: [0, 0], latency: [0, 0], key: expect.any(String) });
    expect(new Set(observed.map((o) => o.key))).toEqual(new Set(['key-0', 'key-1', 'key-2']));
    // About 100 requests/s × (0.5 + 0.1) s / 2 in flight at once, and known latencies later.
    const late = observed[1500]!;
    expect(late.inflight[0]).toBeGreaterThan(late.inflight[1]!);
    expect(late.latency).toEqual([500, 100]);
    for (const endpoint of spy.seen) expect(endpoint.inflight).toBe(0);
  });

  it('takes endpoints out during outages and counts unserved requests', () => {
    const spy = new Spy();
    const report = simulate({
      selector: spy,
      endpoints: [
        { id: 'a', latency: { kind: 'constant', ms: 5 }, outages: [{ fromMs: 1000, toMs: 3000 }] },
        { id: 'b', latency: { kind: 'constant', ms: 5 }, outages: [{ fromMs: 2000, toMs: 4000 }] },
      ],
      workload: { requests: 5000, ratePerSecond: 1000 },
    });
    expect(spy.updates).toEqual([['a', 'b'], ['b'], [], ['a'], ['a', 'b']]);
    // Requests arriving in [2000, 3000) find nobody: about 1000 of them.
    expect(report.overall.unserved).toBeGreaterThan(800);
    expect(report.overall.unserved).toBeLessThan(1200);
    expect(report.overall.failures).toBe(report.overall.unserved);
    const served = report.endpoints.reduce((sum, e) => sum + e.picks, 0);
    expect(served + report.overall.unserved).toBe(5000);
  });

  test.prop(
    [
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 1, max: 2000 }),
      fc.integer(),
    ],
    { numRuns: 30 },
  )('picks add up, shares sum to 1, percentiles are ordered', (n, requests, rate, seed) => {
    const endpoints = Array.from({ length: n }, (_, i) => ({
      id: `http://127.0.0.1:${8001 + i}`,
      latency: { kind: 'exponential', meanMs: 10 * (i + 1) } as const,
      failureRate: 0.1,
    }));
    const report = simulate({
      selector: new UniformRandom({ random: seededRandom(seed) }),
      endpoints,
      workload: { requests, ratePerSecond: rate },
      seed,
    });
    expect(report.endpoints.reduce((sum, e) => sum + e.picks, 0)).toBe(requests);
    expect(report.endpoints.reduce((sum, e) => sum + e.share, 0)).toBeCloseTo(1, 9);
    for (const s of [report.overall, ...report.endpoints.map((e) => e.latency)]) {
      expect(s.p50).toBeLessThanOrEqual(s.p90);
      expect(s.p90).toBeLessThanOrEqual(s.p99);
    }
  });
});

describe('simulate options', () => {
  const endpoints: SimulatedEndpoint[] = [{ id: 'a', latency: { kind: 'constant', ms: 1 } }];
  const base = {
    selector: new RoundRobin(),
    endpoints,
    workload: { requests: 10, ratePerSecond: 10 },
  };
  const run = (patch: Record<string, unknown>) => () =>
    simulate({ ...base, ...patch } as unknown as SimulationOptions);
  const withEndpoint = (patch: Record<string, unknown>) =>
    run({ endpoints: [{ ...endpoints[0], ...patch }] });

  it('rejects bad top-level options', () => {
    expect(() => simulate(undefined as unknown as SimulationOptions)).toThrow(
      /options are required/,
    );
    expect(run({ speed: 1 })).toThrow(/^simulate got an unknown option "speed"/);
    expect(run({ selector: {} })).toThrow(/^simulate: selector must be a selector/);
    expect(run({ endpoints: [] })).toThrow(/^simulate: endpoints must be a non-empty array/);
    expect(run({ workload: undefined })).toThrow(
      /^simulate: workload options must be an object, got null/,
    );
    expect(run({ workload: { requests: 0, ratePerSecond: 1 } })).toThrow(
      /^workload.requests must be an integer >= 1 and <= 1000000, got 0 \(simulate\)/,
    );
    expect(run({ workload: { requests: 1.5, ratePerSecond: 1 } })).toThrow(/got 1.5/);
    expect(run({ workload: { requests: 10, ratePerSecond: 0 } })).toThrow(
      /^workload.ratePerSecond must be a finite number > 0, got 0/,
    );
    expect(run({ workload: { requests: 10, ratePerSecond: 1, keys: 0 } })).toThrow(
      /^workload.keys must be/,
    );
    expect(run({ workload: { requests: 10, ratePerSecond: 1, burst: 2 } })).toThrow(
      /^simulate: workload got an unknown option "burst"/,
    );
    expect(run({ seed: 1.5 })).toThrow(/^seed must be an integer .*got 1.5/);
    expect(run({ random: 3 })).toThrow(/^random must be a function, got 3/);
    expect(run({ seed: 1, random: Math.random })).toThrow(/give seed or random, not both/);
    expect(run({ latencyDecayMs: 0 })).toThrow(
      /^latencyDecayMs must be a finite number > 0, got 0/,
    );
  });

  it('rejects bad endpoints, naming the endpoint', () => {
    expect(run({ endpoints: [null] })).toThrow(
      /^simulate: endpoints\[0\] options must be an object, got null/,
    );
    expect(withEndpoint({ id: '' })).toThrow(
      /^id must be a non-empty string, got "" \(endpoints\[0\]\)/,
    );
    expect(run({ endpoints: [endpoints[0], endpoints[0]] })).toThrow(
      /duplicate endpoint id "a" at endpoints\[1\]/,
    );
    expect(withEndpoint({ weight: -1 })).toThrow(
      /^weight must be a finite number > 0, got -1 \(endpoint "a"\)$/,
    );
    expect(withEndpoint({ concurrency: 0 })).toThrow(
      /^concurrency must be an integer >= 1, got 0 \(endpoint "a"\)/,
    );
    expect(withEndpoint({ concurrency: 2.5 })).toThrow(
      /^concurrency must be an integer >= 1, got 2.5/,
    );
    expect(withEndpoint({ failureRate: 1.5 })).toThrow(
      /^failureRate must be a finite number >= 0 and <= 1, got 1.5 \(endpoint "a"\)/,
    );
    expect(withEndpoint({ latency: 5 })).toThrow(
      /^latency must be an object with a kind, got 5 \(endpoint "a"\)/,
    );
    expect(withEndpoint({ latency: { kind: 'pareto' } })).toThrow(
      /^latency.kind must be "constant", "exponential" or "lognormal", got "pareto" \(endpoint "a"\)/,
    );
    expect(withEndpoint({ latency: { kind: 'constant', ms: -1 } })).toThrow(
      /^latency.ms must be a finite number >= 0, got -1/,
    );
    expect(withEndpoint({ latency: { kind: 'exponential', meanMs: 0 } })).toThrow(
      /^latency.meanMs must be a finite number > 0, got 0/,
    );
    expect(withEndpoint({ latency: { kind: 'lognormal', medianMs: 10, sigma: -1 } })).toThrow(
      /^latency.sigma must be .*got -1/,
    );
    expect(withEndpoint({ latency: { kind: 'constant', ms: 1, meanMs: 2 } })).toThrow(
      /got an unknown option "meanMs"/,
    );
    expect(withEndpoint({ slowPeriods: {} })).toThrow(/^slowPeriods must be an array/);
    expect(withEndpoint({ slowPeriods: [{ fromMs: 10, toMs: 5, factor: 2 }] })).toThrow(
      /^slowPeriods\[0\].toMs must be a finite number > 10, got 5 \(endpoint "a"\)/,
    );
    expect(withEndpoint({ slowPeriods: [{ fromMs: 0, toMs: 5, factor: 0 }] })).toThrow(
      /^slowPeriods\[0\].factor must be/,
    );
    expect(withEndpoint({ outages: [{ fromMs: -1, toMs: 5 }] })).toThrow(
      /^outages\[0\].fromMs must be a finite number >= 0, got -1/,
    );
    expect(withEndpoint({ outages: [{ fromMs: 0, toMs: 5, factor: 2 }] })).toThrow(
      /got an unknown option "factor"/,
    );
  });

  it('rejects a selector that returns an endpoint it was not given', () => {
    const rogue: Selector = {
      update() {},
      pick: () => ({ id: 'x', weight: 1, inflight: 0, latency: 0 }),
    };
    expect(run({ selector: rogue })).toThrow(/returned an endpoint it was not given: "x"/);
  });
});
