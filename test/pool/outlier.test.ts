import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_RETRY_AFTER_MS, Pool } from '../../src/index.js';
import type { StateChangeEvent } from '../../src/pool/types.js';
import { acquireOn, call, describeEvents, makePool, urls } from './support.js';

const [A, B, C, D] = urls(4) as [string, string, string, string];

/** Fails `id` `n` times in a row. */
function fail(pool: Pool, id: string, n: number): void {
  for (let i = 0; i < n; i++) call(pool, id, false);
}

describe('outlier detection: consecutive failures', () => {
  it('ejects after consecutiveFailures failures in a row; a success resets the count', () => {
    const { pool, clock, events } = makePool({ endpoints: urls(2), panicThreshold: 0 });
    fail(pool, A, 4);
    call(pool, A, true);
    fail(pool, A, 4);
    expect(pool.get(A)!.state).toBe('healthy');
    clock.advance(1);
    fail(pool, A, 1);
    expect(pool.get(A)!.state).toBe('ejected');
    expect(pool.snapshot().endpoints[0]!.ejectedUntil).toBe(1 + 30_000);
    expect(describeEvents(events)).toEqual([`${A} healthy→ejected consecutive-failures`]);
    for (let i = 0; i < 10; i++) pool.acquire().release();
    expect(pool.get(A)!.inflight).toBe(0);
    expect(pool.snapshot().endpoints[0]!.requests).toBe(10);
  });

  it('returns by itself when the time is up (lazily on acquire), with reason ejection-expired', () => {
    const { pool, clock, events } = makePool({
      endpoints: urls(2),
      outlierDetection: { consecutiveFailures: 2, baseEjectionMs: 1_000 },
    });
    fail(pool, A, 2);
    clock.advance(999);
    pool.acquire().release();
    expect(pool.get(A)!.state).toBe('ejected');
    clock.advance(1);
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const lease = pool.acquire();
      seen.add(lease.endpoint.id);
      lease.release();
    }
    expect(seen).toEqual(new Set([A, B]));
    expect(describeEvents(events)).toEqual([
      `${A} healthy→ejected consecutive-failures`,
      `${A} ejected→healthy ejection-expired`,
    ]);
    // A returning endpoint starts from a clean count.
    fail(pool, A, 1);
    expect(pool.snapshot().endpoints[0]!.consecutiveFailures).toBe(1);
  });

  it('ejects for baseEjectionMs × times ejected, capped by maxEjectionMs', () => {
    const { pool, clock } = makePool({
      endpoints: urls(2),
      outlierDetection: { consecutiveFailures: 1, baseEjectionMs: 100, maxEjectionMs: 250 },
    });
    const lengths: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = clock.t;
      fail(pool, A, 1);
      const until = pool.snapshot().endpoints[0]!.ejectedUntil!;
      lengths.push(until - start);
      clock.t = until; // back in service exactly when due, and fail at once
    }
    expect(lengths).toEqual([100, 200, 250, 250, 250]);
    expect(pool.snapshot().endpoints[0]!.ejections).toBe(5);
  });

  it('decays the multiplier by one for every baseEjectionMs back in service', () => {
    const { pool, clock } = makePool({
      endpoints: urls(2),
      outlierDetection: { consecutiveFailures: 1, baseEjectionMs: 100, maxEjectionMs: 10_000 },
    });
    const ejectFor = (): number => {
      const start = clock.t;
      fail(pool, A, 1);
      const until = pool.snapshot().endpoints[0]!.ejectedUntil!;
      clock.t = until;
      return until - start;
    };
    expect([ejectFor(), ejectFor(), ejectFor(), ejectFor()]).toEqual([100, 200, 300, 400]);
    expect(pool.snapshot().endpoints[0]!.ejectionMultiplier).toBe(4);
    clock.advance(199); // one full base period back in service
    expect(pool.snapshot().endpoints[0]!.ejectionMultiplier).toBe(3);
    clock.advance(1); // two
    expect(pool.snapshot().endpoints[0]!.ejectionMultiplier).toBe(2);
    expect(ejectFor()).toBe(300); // 2 + 1
    clock.advance(10_000);
    expect(pool.snapshot().endpoints[0]!.ejectionMultiplier).toBe(0);
    expect(ejectFor()).toBe(100);
  });

  it('never ejects more than maxEjectionPercent of the pool (strictly)', () => {
    const { pool } = makePool({
      endpoints: urls(4),
      outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 50 },
    });
    for (const id of [A, B, C]) fail(pool, id, 1);
    expect(pool.endpoints.map((e) => e.state)).toEqual([
      'ejected',
      'ejected',
      'healthy',
      'healthy',
    ]);
    // Still over the threshold: the next failure asks again, and is refused again.
    fail(pool, C, 2);
    expect(pool.get(C)!.state).toBe('healthy');
    expect(pool.snapshot().endpoints[2]!.consecutiveFailures).toBe(3);

    const { pool: ten } = makePool({
      endpoints: urls(9),
      outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 10 },
    });
    for (const e of ten.endpoints) fail(ten, e.id, 1);
    // 1 of 9 is 11 % > 10 %: nothing is ejected, as Envoy without always_eject_one_host.
    expect(ten.snapshot().totals.ejected).toBe(0);

    const { pool: none } = makePool({
      endpoints: urls(2),
      outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 0 },
    });
    fail(none, A, 5);
    expect(none.snapshot().totals.ejected).toBe(0);
  });

  it('frees ejection room when an ejection ends or an ejected endpoint leaves', () => {
    const { pool, clock } = makePool({
      endpoints: urls(4),
      outlierDetection: { consecutiveFailures: 1, baseEjectionMs: 100, maxEjectionPercent: 25 },
    });
    fail(pool, A, 1);
    fail(pool, B, 1);
    expect(pool.get(B)!.state).toBe('healthy');
    clock.advance(100);
    fail(pool, B, 1);
    expect(pool.get(B)!.state).toBe('ejected');
    pool.remove(B);
    pool.add(B);
    fail(pool, C, 1);
    expect(pool.get(C)!.state).toBe('ejected');
  });

  it('ends the ejections closest to their end when the pool shrinks past the cap', () => {
    const { pool, clock, events } = makePool({
      endpoints: urls(4),
      outlierDetection: { consecutiveFailures: 1, baseEjectionMs: 100 },
    });
    fail(pool, A, 1);
    clock.advance(10);
    fail(pool, B, 1); // 2 of 4 ejected: 50 %
    events.length = 0;
    pool.remove(D); // 2 of 3 would be 67 %: A, whose ejection ends first, comes back
    expect(describeEvents(events)).toEqual([
      `${D} healthy→∅ removed`,
      `${A} ejected→healthy ejection-cap`,
    ]);
    expect(pool.get(B)!.state).toBe('ejected');
  });

  it('ignores a late failure of a lease taken before the ejection', () => {
    const { pool } = makePool({ endpoints: urls(3), outlierDetection: { consecutiveFailures: 1 } });
    const early = acquireOn(pool, A);
    fail(pool, A, 1);
    const until = pool.snapshot().endpoints[0]!.ejectedUntil;
    early.release({ ok: false });
    expect(pool.snapshot().endpoints[0]).toMatchObject({ ejections: 1, ejectedUntil: until });
  });

  it('outlierDetection: false never ejects', () => {
    const { pool } = makePool({ endpoints: urls(2), outlierDetection: false });
    fail(pool, A, 50);
    expect(pool.get(A)!.state).toBe('healthy');
    expect(pool.snapshot().endpoints[0]!.consecutiveFailures).toBe(50);
  });

  it('fires ejection-expired from its timer, without traffic', async () => {
    const pool = new Pool({
      endpoints: urls(2),
      outlierDetection: { consecutiveFailures: 1, baseEjectionMs: 20 },
    });
    const events: StateChangeEvent[] = [];
    const back = new Promise<void>((resolve) => {
      pool.onStateChange((e) => {
        events.push(e);
        if (e.reason === 'ejection-expired') resolve();
      });
    });
    call(pool, A, false);
    expect(pool.get(A)!.state).toBe('ejected');
    let timer: ReturnType<typeof setTimeout> | undefined;
    const guard = new Promise<void>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no ejection-expired event within 2 s')), 2_000);
    });
    await Promise.race([back, guard]).finally(() => clearTimeout(timer));
    expect(describeEvents(events)).toEqual([
      `${A} healthy→ejected consecutive-failures`,
      `${A} ejected→healthy ejection-expired`,
    ]);
    await pool.close();
  });
});

describe('Retry-After', () => {
  it('ejects for min(retryAfterMs, maxRetryAfterMs) with reason retry-after', () => {
    const { pool, clock, events } = makePool({ endpoints: urls(2), maxRetryAfterMs: 5_000 });
    call(pool, A, false, { retryAfterMs: 2_000 });
    expect(pool.snapshot().endpoints[0]!.ejectedUntil).toBe(2_000);
    clock.advance(2_000);
    pool.acquire().release();
    call(pool, A, true, { retryAfterMs: 60_000 });
    expect(pool.snapshot().endpoints[0]!.ejectedUntil).toBe(2_000 + 5_000);
    expect(describeEvents(events)).toEqual([
      `${A} healthy→ejected retry-after`,
      `${A} ejected→healthy ejection-expired`,
      `${A} healthy→ejected retry-after`,
    ]);
    // It does not grow the outlier multiplier.
    expect(pool.snapshot().endpoints[0]!.ejectionMultiplier).toBe(0);
  });

  it('stretches an ejection in force without a new event, and never shortens it', () => {
    const { pool, clock, events } = makePool({ endpoints: urls(3) });
    const l1 = acquireOn(pool, A);
    const l2 = acquireOn(pool, A);
    const l3 = acquireOn(pool, A);
    l1.release({ ok: false, retryAfterMs: 1_000 });
    l2.release({ ok: false, retryAfterMs: 3_000 });
    l3.release({ ok: false, retryAfterMs: 10 });
    expect(pool.snapshot().endpoints[0]!.ejectedUntil).toBe(3_000);
    expect(events).toHaveLength(1);
    clock.advance(3_000);
    expect(pool.get(A)!.state).toBe('healthy');
  });

  it('is capped at 60 s by default, ignored with maxRetryAfterMs: 0, honoured (within the default cap) without outlier detection', () => {
    const { pool } = makePool({ endpoints: urls(2) });
    call(pool, A, false, { retryAfterMs: 3_600_000 });
    expect(pool.snapshot().endpoints[0]!.ejectedUntil).toBe(DEFAULT_MAX_RETRY_AFTER_MS);
    const { pool: off } = makePool({ endpoints: urls(2), maxRetryAfterMs: 0 });
    call(off, A, false, { retryAfterMs: 1_000 });
    expect(off.get(A)!.state).toBe('healthy');
    const { pool: noOutlier } = makePool({ endpoints: urls(2), outlierDetection: false });
    call(noOutlier, A, false, { retryAfterMs: 1_000 });
    call(noOutlier, B, false, { retryAfterMs: 1_000 });
    expect(noOutlier.snapshot().totals.ejected).toBe(1); // 50 %: see retry-after-ejection-cap
  });

  it('counts towards maxEjectionPercent when outlier detection is on', () => {
    const { pool } = makePool({ endpoints: urls(2) });
    call(pool, A, false, { retryAfterMs: 1_000 });
    call(pool, B, false, { retryAfterMs: 1_000 });
    expect(pool.endpoints.map((e) => e.state)).toEqual(['ejected', 'healthy']);
  });
});

describe('outlier detection: latency (opt-in)', () => {
  const options = {
    latencyDecayMs: 1_000,
    outlierDetection: { latencyFactor: 3, latencyWindowMs: 1_000, latencyMinSamples: 5 },
  };

  /** One round: every endpoint serves one request of its latency, 10 ms apart. */
  function round(
    pool: Pool,
    clock: { advance(ms: number): void },
    latency: Record<string, number>,
  ) {
    for (const [id, ms] of Object.entries(latency)) {
      const lease = acquireOn(pool, id);
      clock.advance(ms);
      lease.release({ ok: true });
      clock.advance(10);
    }
  }

  it('ejects an endpoint that stays above latencyFactor × the median for latencyWindowMs', () => {
    const { pool, clock, events } = makePool({ endpoints: urls(4), ...options });
    const latency = { [A]: 10, [B]: 12, [C]: 11, [D]: 80 };
    for (let i = 0; i < 8 && pool.get(D)!.state === 'healthy'; i++) round(pool, clock, latency);
    expect(pool.get(D)!.state).toBe('healthy'); // not yet a full window
    for (let i = 0; i < 20 && pool.get(D)!.state === 'healthy'; i++) round(pool, clock, latency);
    expect(describeEvents(events)).toEqual([`${D} healthy→ejected latency`]);
    expect(clock.now()).toBeGreaterThanOrEqual(1_000);
    for (const id of [A, B, C]) expect(pool.get(id)!.state).toBe('healthy');
  });

  it('does not eject for one slow response', () => {
    const { pool, clock } = makePool({ endpoints: urls(4), ...options });
    const steady = { [A]: 10, [B]: 12, [C]: 11, [D]: 10 };
    for (let i = 0; i < 10; i++) round(pool, clock, steady);
    round(pool, clock, { ...steady, [D]: 2_000 });
    expect(pool.get(D)!.latency).toBe(2_000); // the peak EWMA jumps …
    for (let i = 0; i < 40; i++) round(pool, clock, steady);
    expect(pool.get(D)!.state).toBe('healthy'); // … but the plain one judges
  });

  it('needs three endpoints with enough samples', () => {
    const { pool, clock } = makePool({ endpoints: urls(2), ...options });
    for (let i = 0; i < 40; i++) round(pool, clock, { [A]: 10, [B]: 500 });
    expect(pool.get(B)!.state).toBe('healthy');
  });
});
