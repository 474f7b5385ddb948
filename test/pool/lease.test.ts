import { describe, expect, it } from 'vitest';
import { Pool } from '../../src/index.js';
import { describeEvents, FakeClock, makePool, urls } from './support.js';

const [A, B] = urls(2) as [string, string];

/** A fake clock that counts its reads. */
function countingPool(options: { endpoints?: string[]; latencyDecayMs?: number } = {}) {
  const clock = new FakeClock();
  let reads = 0;
  const pool = new Pool({
    endpoints: options.endpoints ?? [A],
    latencyDecayMs: options.latencyDecayMs ?? 1_000,
    now: () => {
      reads++;
      return clock.now();
    },
  });
  return { pool, clock, reads: () => reads };
}

describe('Lease: startedAt and elapsedMs()', () => {
  it('gives the acquire time and the time since, on the pool clock', () => {
    const { pool, clock } = makePool({ endpoints: [A] });
    clock.advance(1_000);
    const lease = pool.acquire();
    expect(lease.startedAt).toBe(1_000);
    clock.advance(42);
    expect(lease.elapsedMs()).toBe(42);
    expect(lease.startedAt).toBe(1_000);
    lease.release();
  });

  it('reads the clock once per acquire, once per elapsedMs(), and once per release', () => {
    const { pool, reads } = countingPool();
    const before = reads();
    const lease = pool.acquire();
    expect(reads() - before).toBe(1);
    lease.elapsedMs();
    expect(reads() - before).toBe(2);
    lease.release({ ok: true });
    expect(reads() - before).toBe(3);
  });
});

describe('release({ latencyMs })', () => {
  it('records the caller’s sample instead of the time since acquire', () => {
    const { pool, clock } = makePool({ endpoints: [A] });
    const lease = pool.acquire();
    clock.advance(5_000);
    lease.release({ ok: true, latencyMs: 12 });
    expect(lease.endpoint.latency).toBe(12);
  });

  it('reads no clock for a success that carries its latency', () => {
    const { pool, reads } = countingPool();
    const lease = pool.acquire();
    const before = reads();
    lease.release({ ok: true, latencyMs: 3 });
    expect(reads()).toBe(before);
    expect(pool.snapshot().totals).toMatchObject({ inflight: 0, successes: 1 });
  });

  it('places the sample at startedAt + latencyMs for the EWMA decay', () => {
    const { pool, clock } = makePool({ endpoints: [A], latencyDecayMs: 1_000 });
    const first = pool.acquire();
    clock.advance(100);
    first.release({ ok: true, latencyMs: 100 }); // taken at t = 100
    const second = pool.acquire();
    clock.advance(10);
    second.release({ ok: true, latencyMs: 10 }); // taken at t = 110: Δt = 10
    const w = Math.exp(-10 / 1_000);
    expect(second.endpoint.latency).toBeCloseTo(100 * w + 10 * (1 - w), 10);
  });

  it('a late sample (older than the last one) moves nothing back in time', () => {
    const { pool, clock } = makePool({ endpoints: [A], latencyDecayMs: 1_000 });
    const stream = pool.acquire(); // t = 0; its sample is taken at t = 5
    clock.advance(5);
    const short = pool.acquire();
    clock.advance(100);
    short.release({ ok: true, latencyMs: 50 }); // taken at t = 55
    stream.release({ ok: true, latencyMs: 5 }); // reported late: Δt = 0, a lower value has no weight
    expect(stream.endpoint.latency).toBe(50);
    const late = pool.acquire();
    clock.advance(1);
    stream.release({ ok: true, latencyMs: 1 }); // already released: ignored
    late.release({ ok: true, latencyMs: 1 }); // taken at t = 106: Δt = 51 since t = 55
    const w = Math.exp(-51 / 1_000);
    expect(late.endpoint.latency).toBeCloseTo(50 * w + 1 * (1 - w), 10);
  });

  it('a late sample above the average still raises it at once (peak EWMA)', () => {
    const { pool, clock } = makePool({ endpoints: [A] });
    const slow = pool.acquire(); // t = 0
    clock.advance(50);
    const quick = pool.acquire();
    clock.advance(10);
    quick.release({ ok: true, latencyMs: 10 }); // taken at t = 60
    slow.release({ ok: true, latencyMs: 40 }); // taken at t = 40, reported after
    expect(slow.endpoint.latency).toBe(40);
  });

  it('skipLatency wins over latencyMs', () => {
    const { pool } = makePool({ endpoints: [A] });
    pool.acquire().release({ ok: true, latencyMs: 7 });
    pool.acquire().release({ ok: true, latencyMs: 500, skipLatency: true });
    pool.acquire().release({ ok: false, latencyMs: 500, skipLatency: true });
    expect(pool.get(A)!.latency).toBe(7);
  });

  it('a failure with latencyMs records that sample and counts towards ejection on the pool clock', () => {
    const { pool, clock, events } = makePool({
      endpoints: [A, B],
      outlierDetection: { consecutiveFailures: 2, baseEjectionMs: 1_000 },
    });
    const exclude = new Set([B]);
    pool.acquire({ exclude }).release({ ok: false, latencyMs: 30 });
    const lease = pool.acquire({ exclude });
    clock.advance(10_000); // a long call: the ejection starts when it ends, not at its sample
    lease.release({ ok: false, latencyMs: 30 });
    expect(pool.get(A)!.latency).toBe(30);
    expect(describeEvents(events.slice(-1))).toEqual([`${A} healthy→ejected consecutive-failures`]);
    expect(pool.snapshot().endpoints[0]!.ejectedUntil).toBe(11_000);
  });

  it('a success with latencyMs and retryAfterMs still ejects for Retry-After', () => {
    const { pool, clock } = makePool({ endpoints: [A, B], outlierDetection: false });
    const lease = pool.acquire({ exclude: new Set([B]) });
    clock.advance(100);
    lease.release({ ok: true, latencyMs: 20, retryAfterMs: 2_000 });
    expect(pool.get(A)!.state).toBe('ejected');
    expect(pool.snapshot().endpoints[0]!.ejectedUntil).toBe(2_100);
    expect(pool.get(A)!.latency).toBe(20);
  });

  it('a draining endpoint leaves when its last lease is released with latencyMs', () => {
    const { pool, events } = makePool({ endpoints: [A, B] });
    const lease = pool.acquire({ prefer: A });
    pool.remove(A, { drain: true });
    lease.release({ ok: true, latencyMs: 4 });
    expect(pool.get(A)).toBeUndefined();
    expect(describeEvents(events.slice(-1))).toEqual([`${A} draining→∅ drained`]);
  });

  it('time-driven work waits for the next acquire after a clock-free release', () => {
    const { pool, clock, events } = makePool({ endpoints: [A, B], outlierDetection: false });
    pool.acquire({ prefer: A }).release({ ok: true, retryAfterMs: 1_000 });
    const held = pool.acquire({ prefer: B });
    clock.advance(1_000);
    held.release({ ok: true, latencyMs: 1 });
    expect(describeEvents(events.slice(-1))).toEqual([`${A} healthy→ejected retry-after`]);
    expect(pool.acquire({ prefer: A }).endpoint.id).toBe(A); // the acquire expired it
    expect(describeEvents(events.slice(-1))).toEqual([`${A} ejected→healthy ejection-expired`]);
  });

  it.each([
    [
      -1,
      RangeError,
      /latencyMs must be a finite number >= 0, got -1 \(endpoint "http:\/\/127\.0\.0\.1:9001"\)/,
    ],
    [Number.NaN, RangeError, /latencyMs must be a finite number >= 0, got NaN/],
    [Number.POSITIVE_INFINITY, RangeError, /latencyMs must be a finite number >= 0, got Infinity/],
    ['5', TypeError, /latencyMs must be a finite number >= 0, got "5"/],
    [null, TypeError, /latencyMs must be a finite number >= 0, got null/],
  ])('rejects latencyMs %s and leaves the lease unreleased', (value, type, message) => {
    const { pool } = makePool({ endpoints: [A] });
    const lease = pool.acquire();
    expect(() => lease.release({ ok: true, latencyMs: value as number })).toThrow(type);
    expect(() => lease.release({ ok: true, latencyMs: value as number })).toThrow(message);
    expect(lease.endpoint.inflight).toBe(1);
    lease.release({ ok: true, latencyMs: 0 });
    expect(lease.endpoint.inflight).toBe(0);
    expect(pool.snapshot().totals).toMatchObject({ inflight: 0, successes: 1 });
  });
});
