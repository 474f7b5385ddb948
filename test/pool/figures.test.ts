import { describe, expect, it } from 'vitest';
import {
  bucketOf,
  FINE_BOUNDS_MS,
  FINE_BUCKETS,
  LATENCY_HISTOGRAM_BOUNDS_MS,
  quantile,
} from '../../src/pool/latency-buckets.js';
import { acquireOn, makePool, urls } from './support.js';

describe('latency buckets', () => {
  it('are ascending, ten per decade, at most a third apart, and end with +Infinity', () => {
    expect(FINE_BUCKETS).toBe(62);
    for (let i = 1; i < FINE_BUCKETS - 1; i++) {
      expect(FINE_BOUNDS_MS[i]!).toBeGreaterThan(FINE_BOUNDS_MS[i - 1]!);
      expect(FINE_BOUNDS_MS[i]! / FINE_BOUNDS_MS[i - 1]!).toBeLessThanOrEqual(4 / 3 + 1e-9);
    }
    expect(FINE_BOUNDS_MS[0]).toBe(0.1);
    expect(FINE_BOUNDS_MS[FINE_BUCKETS - 2]).toBe(100_000);
    expect(FINE_BOUNDS_MS[FINE_BUCKETS - 1]).toBe(Number.POSITIVE_INFINITY);
  });

  it('put a sample in the first bucket whose bound is at least the sample', () => {
    const linear = (ms: number): number => FINE_BOUNDS_MS.findIndex((b) => ms <= b);
    const samples = [
      0,
      0.05,
      0.1,
      0.1000001,
      1,
      1.2,
      1.25,
      1.26,
      7.9,
      8,
      60_000,
      99_999,
      1e5,
      1e5 + 1,
      1e12,
    ];
    for (let ms = 0; ms < 200_000; ms = ms * 1.07 + 0.013) samples.push(ms);
    for (const ms of samples) expect(bucketOf(ms), String(ms)).toBe(linear(ms));
  });

  it('report histogram bounds that are fine bounds (exact counts), Prometheus 1-2.5-5 steps', () => {
    for (const bound of LATENCY_HISTOGRAM_BOUNDS_MS) expect(FINE_BOUNDS_MS).toContain(bound);
    expect(LATENCY_HISTOGRAM_BOUNDS_MS.slice(0, 4)).toEqual([1, 2.5, 5, 10]);
  });

  it('interpolate quantiles inside the bucket, null without samples', () => {
    const counts = new Float64Array(64);
    expect(quantile(counts, 0, 0.5)).toBeNull();
    counts[bucketOf(10)] = 100; // (8, 10]
    expect(quantile(counts, 100, 0.5)).toBe(9);
    expect(quantile(counts, 100, 1)).toBe(10);
    counts[FINE_BUCKETS - 1] = 100; // above 100 s
    expect(quantile(counts, 200, 0.99)).toBe(100_000);
  });
});

describe('Pool: recorded figures', () => {
  it('reports rate and error rate over the last 10 complete seconds', () => {
    const { pool, clock } = makePool({ endpoints: urls(2) });
    const [a, b] = urls(2) as [string, string];
    // 20 s of 5 requests a second on a (one failure a second), one a second on b.
    for (let s = 0; s < 20; s++) {
      for (let i = 0; i < 5; i++) acquireOn(pool, a).release({ ok: i !== 0 });
      acquireOn(pool, b).release({ ok: true });
      clock.advance(1000);
    }
    const snapshot = pool.snapshot();
    const [ea, eb] = snapshot.endpoints;
    expect(ea).toMatchObject({ rate: 5, errorRate: 0.2, requests: 100, failures: 20 });
    expect(eb).toMatchObject({ rate: 1, errorRate: 0 });
    expect(snapshot.totals.rate).toBe(6);
    // Quiet for 5 s: half the window is empty.
    clock.advance(5000);
    expect(pool.snapshot().endpoints[0]!.rate).toBe(2.5);
    // Quiet for longer than the window: nothing.
    clock.advance(60_000);
    expect(pool.snapshot().endpoints[0]).toMatchObject({ rate: 0, errorRate: 0 });
  });

  it('divides by the seconds seen while the endpoint is younger than the window', () => {
    const { pool, clock } = makePool({ endpoints: urls(1) });
    for (let i = 0; i < 30; i++) pool.acquire().release({ ok: true });
    expect(pool.snapshot().endpoints[0]!.rate).toBe(0); // no complete second yet
    clock.advance(1000);
    expect(pool.snapshot().endpoints[0]!.rate).toBe(30);
    clock.advance(1000);
    expect(pool.snapshot().endpoints[0]!.rate).toBe(15);
  });

  it('reports p50/p90/p99 over the last minute from the latencies, null without any', () => {
    const { pool, clock } = makePool({ endpoints: urls(1) });
    expect(pool.snapshot().endpoints[0]!.latencyMs).toEqual({ p50: null, p90: null, p99: null });
    // 1 000 samples: 1..1000 ms, given by the caller.
    for (let ms = 1; ms <= 1000; ms++) pool.acquire().release({ ok: true, latencyMs: ms });
    const { p50, p90, p99 } = pool.snapshot().endpoints[0]!.latencyMs;
    expect(p50! / 500).toBeGreaterThan(0.95);
    expect(p50! / 500).toBeLessThan(1.05);
    expect(p90! / 900).toBeGreaterThan(0.95);
    expect(p90! / 900).toBeLessThan(1.05);
    expect(p99! / 990).toBeGreaterThan(0.95);
    expect(p99! / 990).toBeLessThan(1.05);
    // Measured by the pool when not given: acquire to release on its clock. The window is
    // 60 to 65 s long (5-s steps): 66 s later the first samples are gone.
    clock.advance(66_000);
    const lease = pool.acquire();
    clock.advance(40);
    lease.release({ ok: false });
    expect(pool.snapshot().endpoints[0]!.latencyMs.p50).toBeCloseTo(35, 0); // in (30, 40]
    // Older than 65 s: forgotten.
    clock.advance(66_000);
    expect(pool.snapshot().endpoints[0]!.latencyMs).toEqual({ p50: null, p90: null, p99: null });
  });

  it('leaves skipLatency releases out of the latencies but counts them', () => {
    const { pool, clock } = makePool({ endpoints: urls(1) });
    pool.acquire().release({ ok: true, skipLatency: true });
    pool.acquire().release({ ok: true, latencyMs: 3, skipLatency: true });
    clock.advance(1000);
    const e = pool.snapshot().endpoints[0]!;
    expect(e.rate).toBe(2);
    expect(e.latencyMs.p50).toBeNull();
    expect(pool.latencyHistogram(urls(1)[0]!)!.count).toBe(0);
  });

  it('counts retries acquired with retry: true, per endpoint and in total', () => {
    const { pool } = makePool({ endpoints: urls(2) });
    pool.acquire().release();
    pool.acquire({ retry: true }).release();
    pool.acquire({ retry: false }).release();
    pool.acquire({ retry: true, exclude: new Set([urls(2)[0]!]) }).release();
    const s = pool.snapshot();
    expect(s.totals.retries).toBe(2);
    expect(s.endpoints.map((e) => e.retries)).toEqual([0, 2]);
  });

  it('counts the attempts after the first of execute() as retries', async () => {
    const { pool } = makePool({ endpoints: urls(3) });
    let calls = 0;
    await pool.execute(
      () => {
        if (++calls < 3) throw new Error('no');
        return 'ok';
      },
      { attempts: 3, backoff: false },
    );
    const s = pool.snapshot();
    expect(s.totals).toMatchObject({ requests: 3, retries: 2, failures: 2, successes: 1 });
    expect(s.endpoints.map((e) => e.retries)).toEqual([0, 1, 1]);
  });

  it('keeps a cumulative latency histogram on the reported bounds', () => {
    const { pool } = makePool({ endpoints: urls(1) });
    const id = urls(1)[0]!;
    expect(pool.latencyHistogram('nope')).toBeUndefined();
    const empty = pool.latencyHistogram(id)!;
    expect(empty.count).toBe(0);
    expect(empty.counts).toHaveLength(LATENCY_HISTOGRAM_BOUNDS_MS.length + 1);
    for (const ms of [0.5, 1, 2, 7, 7, 100, 70_000])
      pool.acquire().release({ ok: true, latencyMs: ms });
    const h = pool.latencyHistogram(id)!;
    expect(h.boundsMs).toBe(LATENCY_HISTOGRAM_BOUNDS_MS);
    expect(h.count).toBe(7);
    expect(h.sumMs).toBeCloseTo(70_117.5);
    const at = (bound: number): number => h.counts[h.boundsMs.indexOf(bound)]!;
    expect(at(1)).toBe(2);
    expect(at(2.5)).toBe(3);
    expect(at(5)).toBe(3);
    expect(at(10)).toBe(5);
    expect(at(100)).toBe(6);
    expect(at(60_000)).toBe(6);
    expect(h.counts.at(-1)).toBe(7);
  });

  it('counts a late caller sample in the current second, never moving the ring back', () => {
    const { pool, clock } = makePool({ endpoints: urls(1) });
    clock.advance(5_000);
    const lease = pool.acquire();
    clock.advance(3_000);
    lease.release({ ok: true, latencyMs: 10 }); // taken at 5 010
    pool.acquire().release({ ok: true, latencyMs: 1 }); // at 8 001
    clock.advance(2_000);
    expect(pool.snapshot().endpoints[0]!.rate).toBeGreaterThan(0);
    expect(pool.snapshot().totals.successes).toBe(2);
  });

  it('keeps each endpoint apart across many endpoints, slot ends and the table growing', () => {
    // 40 endpoints, added one by one while traffic runs: the pool-wide table grows twice.
    const ids = urls(40);
    const { pool, clock } = makePool({ endpoints: ids.slice(0, 1) });
    for (let n = 0; n < ids.length; n++) {
      if (n > 0) pool.add(ids[n]!);
      // Endpoint k gets k + 1 samples of (k + 1) ms each time round.
      for (let k = 0; k <= n; k++) {
        for (let i = 0; i <= k; i++)
          acquireOn(pool, ids[k]!).release({ ok: true, latencyMs: k + 1 });
      }
      clock.advance(700); // slots end along the way
    }
    for (let k = 0; k < ids.length; k++) {
      const h = pool.latencyHistogram(ids[k]!)!;
      const rounds = ids.length - k;
      expect(h.count, ids[k]).toBe(rounds * (k + 1));
      expect(h.sumMs, ids[k]).toBeCloseTo(rounds * (k + 1) * (k + 1));
    }
    const e = pool.snapshot().endpoints;
    expect(e[39]!.latencyMs.p50).toBeGreaterThan(30); // in (30, 40]
    expect(e[39]!.latencyMs.p50).toBeLessThanOrEqual(40);
    expect(e[0]!.latencyMs.p99).toBeLessThanOrEqual(1);
  });

  it('starts an endpoint that joins after another left from zero, even on a reused column', () => {
    // 16 endpoints fill the table's first 16 columns, so a write through a stale column
    // index (−1, or the column of one that left) would land on a neighbour and show.
    const ids = urls(17);
    const [a, c] = [ids[0]!, ids[16]!];
    const others = ids.slice(1, 16);
    const { pool } = makePool({ endpoints: ids.slice(0, 16) });
    for (const id of others) acquireOn(pool, id).release({ ok: true, latencyMs: 3 });
    for (let i = 0; i < 10; i++) acquireOn(pool, a).release({ ok: true, latencyMs: 50 });
    // A lease still out on `a` when it leaves: its release must land nowhere.
    const late = acquireOn(pool, a);
    pool.remove(a);
    pool.add(c);
    acquireOn(pool, c).release({ ok: true, latencyMs: 2 });
    late.release({ ok: true, latencyMs: 50 });
    const hc = pool.latencyHistogram(c)!;
    expect(hc.count).toBe(1);
    expect(hc.sumMs).toBe(2);
    for (const id of others) {
      expect(pool.latencyHistogram(id), id).toMatchObject({ count: 1, sumMs: 3 });
    }
    expect(pool.latencyHistogram(a)).toBeUndefined();
  });
});
