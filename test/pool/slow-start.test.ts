import { describe, expect, it } from 'vitest';
import { SLOW_START_MIN_SHARE } from '../../src/index.js';
import { slowStartFactor, slowStartRefreshMs } from '../../src/pool/slow-start.js';
import { makePool, urls } from './support.js';

const [A, B, C] = urls(3) as [string, string, string];

describe('slow start', () => {
  it('ramps linearly from 10 % to 100 % (Envoy, aggression 1)', () => {
    expect(SLOW_START_MIN_SHARE).toBe(0.1);
    expect(
      [0, 500, 1_000, 2_500, 5_000, 9_999, 10_000, 20_000].map((t) => slowStartFactor(t, 10_000)),
    ).toEqual([0.1, 0.1, 0.1, 0.25, 0.5, 0.9999, 1, 1]);
    expect(slowStartRefreshMs(10_000)).toBe(1_000);
    expect(slowStartRefreshMs(60_000)).toBe(1_000);
    expect(slowStartRefreshMs(500)).toBe(50);
  });

  it('ramps an added endpoint, refreshing effective weights lazily at a bounded cadence', () => {
    const { pool, clock, selector } = makePool({ endpoints: urls(2), slowStartMs: 10_000 });
    expect(pool.get(A)!.weight).toBe(1); // the initial endpoints start at full weight
    pool.add({ url: C, weight: 4 });
    const weightAt = (t: number): number => {
      clock.t = t;
      pool.acquire().release();
      return pool.get(C)!.weight;
    };
    expect(pool.get(C)!.weight).toBeCloseTo(0.4, 10);
    const updates = selector.updates;
    expect(weightAt(999)).toBeCloseTo(0.4, 10); // not yet due: no refresh, no update
    expect(selector.updates).toBe(updates);
    expect(weightAt(2_500)).toBeCloseTo(1, 10);
    expect(selector.updates).toBe(updates + 1);
    expect(weightAt(3_000)).toBeCloseTo(1, 10); // within a second of the last refresh
    expect(weightAt(5_000)).toBeCloseTo(2, 10);
    expect(pool.snapshot().endpoints[2]).toMatchObject({ configuredWeight: 4, slowStart: 0.5 });
    expect(weightAt(7_500)).toBeCloseTo(3, 10);
    expect(weightAt(10_000)).toBe(4);
    const done = selector.updates;
    expect(weightAt(30_000)).toBe(4); // ramp over: nothing more to refresh
    expect(selector.updates).toBe(done);
    expect(selector.endpoints.find((e) => e.id === C)!.weight).toBe(4);
  });

  it('ramps again when an endpoint comes back from unhealthy or ejected', () => {
    const { pool, clock } = makePool({
      endpoints: urls(3),
      slowStartMs: 1_000,
      outlierDetection: { consecutiveFailures: 1, baseEjectionMs: 100 },
    });
    pool.setHealth(A, false);
    expect(pool.get(A)!.weight).toBe(1);
    clock.t = 50;
    pool.setHealth(A, true);
    expect(pool.get(A)!.weight).toBeCloseTo(0.1, 10);
    clock.t = 550;
    expect(pool.snapshot().endpoints[0]!.weight).toBeCloseTo(0.5, 10);
    // Leaving service mid-ramp restores the configured weight (panic uses it as is).
    const lease = pool.acquire({ exclude: new Set([B, C]) });
    lease.release({ ok: false });
    expect(pool.get(A)).toMatchObject({ state: 'ejected', weight: 1 });
    clock.t = 650;
    expect(pool.get(A)).toMatchObject({ state: 'healthy', weight: 0.1 });
  });

  it('setWeight keeps the ramp and scales the new weight', () => {
    const { pool, clock } = makePool({ endpoints: urls(1), slowStartMs: 1_000 });
    pool.add(B);
    clock.t = 500;
    pool.setWeight(B, 10);
    expect(pool.get(B)!.weight).toBeCloseTo(5, 10);
    expect(pool.get(B)!.configuredWeight).toBe(10);
  });
});
