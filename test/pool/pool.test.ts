import { describe, expect, it } from 'vitest';
import {
  isNoEndpointError,
  isPoolClosedError,
  NoEndpointError,
  Pool,
  PoolClosedError,
  PowerOfTwoChoices,
} from '../../src/index.js';
import { describeEvents, makePool, urls } from './support.js';

describe('Pool: endpoints', () => {
  it('normalises URLs and defaults id, weight, priority and metadata', () => {
    const pool = new Pool({
      endpoints: [
        'HTTP://127.0.0.1:80/',
        'http://127.0.0.1:8080',
        {
          url: 'http://127.0.0.1:8081/api/',
          id: 'api',
          weight: 3,
          priority: 1,
          metadata: { zone: 'a' },
        },
        'tcp://127.0.0.1:6379',
      ],
    });
    const [a, b, c, d] = pool.endpoints;
    expect(a).toMatchObject({
      id: 'http://127.0.0.1',
      url: 'http://127.0.0.1',
      weight: 1,
      priority: 0,
    });
    expect(a!.metadata).toEqual({});
    expect(a!.parsedUrl).toBeInstanceOf(URL);
    expect(a!.parsedUrl.port).toBe('');
    expect(b!.id).toBe('http://127.0.0.1:8080');
    expect(c).toMatchObject({
      id: 'api',
      url: 'http://127.0.0.1:8081/api/',
      weight: 3,
      configuredWeight: 3,
      priority: 1,
      metadata: { zone: 'a' },
      state: 'healthy',
      inflight: 0,
      latency: 0,
    });
    expect(d!.id).toBe('tcp://127.0.0.1:6379');
    expect(pool.get('api')).toBe(c);
    expect(pool.get('nope')).toBeUndefined();
  });

  it('uses PowerOfTwoChoices by default', () => {
    const pool = new Pool({ endpoints: urls(3) });
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const lease = pool.acquire();
      seen.add(lease.endpoint.id);
      lease.release();
    }
    expect(seen.size).toBe(3);
    expect(new PowerOfTwoChoices()).toBeInstanceOf(PowerOfTwoChoices);
  });
});

describe('Pool: leases', () => {
  it('counts in-flight per endpoint and for the pool; release is idempotent', () => {
    const { pool } = makePool({ endpoints: urls(2) });
    const a = pool.acquire();
    const b = pool.acquire();
    expect(a.endpoint.id).not.toBe(b.endpoint.id);
    expect(a.endpoint.inflight).toBe(1);
    expect(pool.snapshot().totals.inflight).toBe(2);
    a.release({ ok: true });
    a.release({ ok: false });
    expect(a.endpoint.inflight).toBe(0);
    expect(pool.snapshot().totals).toMatchObject({
      inflight: 1,
      requests: 2,
      successes: 1,
      failures: 0,
    });
    b.release();
    expect(pool.snapshot().totals).toMatchObject({ inflight: 0, successes: 2 });
  });

  it('keeps a peak-sensitive EWMA of latency (Finagle): jumps up, decays with exp(-Δt/τ)', () => {
    const { pool, clock } = makePool({ endpoints: urls(1), latencyDecayMs: 1_000 });
    const take = (ms: number, skipLatency = false) => {
      const lease = pool.acquire();
      clock.advance(ms);
      lease.release({ ok: true, skipLatency });
      return lease.endpoint.latency;
    };
    expect(take(100)).toBe(100);
    // Δt since the previous sample is 10 ms: w = e^(-0.01).
    const w = Math.exp(-10 / 1_000);
    expect(take(10)).toBeCloseTo(100 * w + 10 * (1 - w), 10);
    expect(take(500)).toBe(500); // a slower sample replaces the average at once
    const before = pool.get(urls(1)[0]!)!.latency;
    expect(take(1, true)).toBe(before); // skipLatency leaves it alone
  });

  it('decays exactly under load too (tiny Δt/τ)', () => {
    const { pool, clock } = makePool({ endpoints: urls(1), latencyDecayMs: 10_000 });
    const take = (ms: number) => {
      const lease = pool.acquire();
      clock.advance(ms);
      lease.release({ ok: true });
      return lease.endpoint.latency;
    };
    take(5);
    // Δt = 0.001 ms: x = 1e-7, far below where the series replaces Math.exp.
    const w = Math.exp(-0.001 / 10_000);
    expect(take(0.001)).toBeCloseTo(5 * w + 0.001 * (1 - w), 12);
    clock.advance(10); // Δt/τ = 1e-3: Math.exp again
    const before = pool.get(urls(1)[0]!)!.latency;
    const w2 = Math.exp(-10 / 10_000);
    expect(take(0)).toBeCloseTo(before * w2, 12);
  });

  it('throws NoEndpointError when nothing is eligible, with the reason in the message', () => {
    const { pool } = makePool();
    expect(() => pool.acquire()).toThrow(NoEndpointError);
    expect(() => pool.acquire()).toThrow(/the pool is empty/);
    expect(pool.tryAcquire()).toBeUndefined();
    pool.add('http://127.0.0.1:9001');
    pool.setHealth('http://127.0.0.1:9001', false);
    const { pool: strict } = makePool({ endpoints: urls(2), panicThreshold: 0 });
    strict.setHealth(urls(2)[0]!, false);
    strict.setHealth(urls(2)[1]!, false);
    try {
      strict.acquire();
      expect.unreachable();
    } catch (error) {
      expect(isNoEndpointError(error)).toBe(true);
      expect((error as Error).message).toMatch(/2 endpoints \(2 unhealthy\)/);
    }
    const { pool: one } = makePool({ endpoints: urls(1) });
    expect(() => one.acquire({ exclude: new Set(urls(1)) })).toThrow(/were excluded/);
  });

  it('passes key and exclude to the selector', () => {
    const { pool } = makePool({ endpoints: urls(3) });
    const exclude = new Set([urls(3)[0]!, urls(3)[1]!]);
    for (let i = 0; i < 5; i++) {
      const lease = pool.acquire({ exclude, key: 'k' });
      expect(lease.endpoint.id).toBe(urls(3)[2]);
      lease.release();
    }
  });

  it('calls selector.update() only when the eligible set changes, never per pick', () => {
    const { pool, selector } = makePool({ endpoints: urls(3) });
    const before = selector.updates;
    for (let i = 0; i < 1_000; i++) pool.acquire().release({ ok: i % 7 !== 0 });
    expect(selector.updates).toBe(before);
    pool.setHealth(urls(3)[0]!, false);
    expect(selector.updates).toBe(before + 1);
    pool.setHealth(urls(3)[0]!, false); // no change, no update
    expect(selector.updates).toBe(before + 1);
  });

  it('hands selectors the live endpoint objects', () => {
    const { pool, selector } = makePool({ endpoints: urls(2) });
    const lease = pool.acquire();
    expect(selector.endpoints).toContain(lease.endpoint);
    expect(selector.endpoints.find((e) => e === lease.endpoint)!.inflight).toBe(1);
  });
});

describe('Pool: snapshot', () => {
  it('is plain JSON that round-trips through JSON.stringify', () => {
    const { pool, clock } = makePool({
      endpoints: [
        ...urls(3),
        { url: 'http://127.0.0.1:9100', priority: 1, metadata: { zone: 'b' } },
      ],
      outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 100 },
    });
    const lease = pool.acquire({ exclude: new Set(urls(3).slice(1)) });
    clock.advance(12);
    lease.release({ ok: false, error: new Error('boom') });
    pool.setHealth(urls(3)[1]!, false);
    const held = pool.acquire();
    const snapshot = pool.snapshot();
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
    expect(snapshot.totals).toEqual({
      endpoints: 4,
      eligible: 3, // one healthy of three in tier 0: below the panic threshold
      healthy: 2,
      unhealthy: 1,
      ejected: 1,
      draining: 0,
      disabled: 0,
      inflight: 1,
      requests: 2,
      successes: 0,
      failures: 1,
      retries: 0,
      ejections: 1,
      rate: 0, // nothing completed in a whole second yet
    });
    expect(snapshot.tier).toBe(0);
    expect(snapshot.panic).toBe(true);
    const a = snapshot.endpoints[0]!;
    expect(a).toMatchObject({
      id: urls(3)[0],
      state: 'ejected',
      eligible: true,
      healthy: true,
      latency: 12,
      requests: 1,
      failures: 1,
      consecutiveFailures: 0,
      ejections: 1,
      ejectionMultiplier: 1,
      ejectedUntil: 12 + 30_000,
      slowStart: 1,
    });
    expect(snapshot.endpoints[1]).toMatchObject({
      state: 'unhealthy',
      healthy: false,
      ejectedUntil: null,
    });
    expect(snapshot.endpoints[3]).toMatchObject({ priority: 1, metadata: { zone: 'b' } });
    held.release();
  });
});

describe('Pool: events and lifecycle', () => {
  it('emits one event per state change, with a reason; disposing stops delivery', () => {
    const { pool, events } = makePool({ endpoints: urls(2) });
    const [a] = urls(2);
    const mine: string[] = [];
    const sub = pool.onStateChange((e) => mine.push(e.reason));
    pool.setHealth(a!, false);
    pool.setHealth(a!, false);
    pool.setHealth(a!, true, 'admin');
    sub.dispose();
    sub.dispose();
    pool.setHealth(a!, false);
    expect(describeEvents(events)).toEqual([
      `${a} healthy→unhealthy health-check`,
      `${a} unhealthy→healthy admin`,
      `${a} healthy→unhealthy health-check`,
    ]);
    expect(mine).toEqual(['health-check', 'admin']);
  });

  it('delivers events after the eligible set is updated, and in order when a listener changes the pool', () => {
    const { pool, selector, events } = makePool({ endpoints: urls(3) });
    const [a, b] = urls(3);
    const seen: string[][] = [];
    pool.onStateChange((e) => {
      seen.push(selector.ids);
      if (e.endpoint.id === a && e.to === 'unhealthy') pool.setHealth(b!, false, 'cascade');
    });
    pool.setHealth(a!, false);
    expect(describeEvents(events)).toEqual([
      `${a} healthy→unhealthy health-check`,
      `${b} healthy→unhealthy cascade`,
    ]);
    expect(seen[0]).not.toContain(a);
  });

  it('close() is idempotent, refuses new work and lets outstanding leases release', async () => {
    const { pool } = makePool({ endpoints: urls(2) });
    const lease = pool.acquire();
    await pool.close();
    await pool.close();
    expect(pool.closed).toBe(true);
    expect(() => pool.acquire()).toThrow(PoolClosedError);
    expect(pool.tryAcquire()).toBeUndefined();
    expect(() => pool.add('http://127.0.0.1:9999')).toThrow(/closed/);
    await expect(pool.execute(() => 1)).rejects.toSatisfy(isPoolClosedError);
    lease.release({ ok: false });
    expect(pool.snapshot().totals.inflight).toBe(0);
    pool.setHealth(urls(2)[0]!, false); // late health results are ignored
    expect(pool.get(urls(2)[0]!)!.state).toBe('healthy');
  });

  it('supports await using', async () => {
    let outer: Pool | undefined;
    {
      await using pool = new Pool({ endpoints: urls(1) });
      outer = pool;
    }
    expect(outer.closed).toBe(true);
  });
});
