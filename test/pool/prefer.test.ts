import { describe, expect, it } from 'vitest';
import { NoEndpointError } from '../../src/index.js';
import { call, makePool, urls } from './support.js';

const [A, B, C] = urls(3) as [string, string, string];

/** Ids of `n` acquires with `prefer`, each released at once. */
function picks(pool: ReturnType<typeof makePool>['pool'], prefer: string, n = 4): string[] {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const lease = pool.acquire({ prefer });
    ids.push(lease.endpoint.id);
    lease.release();
  }
  return ids;
}

describe('acquire({ prefer })', () => {
  it('takes the preferred endpoint while it is eligible, without asking the selector', () => {
    const { pool, selector } = makePool({ endpoints: [A, B, C] });
    expect(picks(pool, B)).toEqual([B, B, B, B]);
    expect(pool.tryAcquire({ prefer: C })?.endpoint.id).toBe(C);
    // The selector's rotation was not advanced by the preferred acquires.
    expect(pool.acquire().endpoint.id).toBe(A);
    expect(pool.acquire().endpoint.id).toBe(B);
    expect(selector.updates).toBe(1);
  });

  it('falls through to the selector for an unknown id', () => {
    const { pool } = makePool({ endpoints: [A, B] });
    expect(picks(pool, 'http://127.0.0.9:9000', 2)).toEqual([A, B]);
    expect(picks(pool, '', 1)).toEqual([A]);
  });

  it('falls through when the preferred endpoint is excluded', () => {
    const { pool } = makePool({ endpoints: [A, B, C] });
    const lease = pool.acquire({ prefer: A, exclude: new Set([A]) });
    expect(lease.endpoint.id).toBe(B);
    expect(pool.tryAcquire({ prefer: A, exclude: new Set([A, B, C]) })).toBeUndefined();
    expect(() => pool.acquire({ prefer: A, exclude: new Set([A, B, C]) })).toThrow(NoEndpointError);
  });

  it('falls through while the preferred endpoint is unhealthy, and returns to it after', () => {
    const { pool } = makePool({ endpoints: [A, B, C], panicThreshold: 0 });
    pool.setHealth(A, false);
    expect(picks(pool, A, 3)).not.toContain(A);
    pool.setHealth(A, true);
    expect(picks(pool, A, 2)).toEqual([A, A]);
  });

  it('falls through while the preferred endpoint is ejected, until the ejection expires', () => {
    const { pool, clock } = makePool({ endpoints: [A, B], outlierDetection: false });
    call(pool, A, false, { retryAfterMs: 1_000 });
    expect(pool.get(A)?.state).toBe('ejected');
    expect(picks(pool, A, 3)).toEqual([B, B, B]);
    clock.advance(1_000);
    expect(picks(pool, A, 2)).toEqual([A, A]);
  });

  it('falls through for a draining endpoint, and for one removed', () => {
    const { pool } = makePool({ endpoints: [A, B, C] });
    const held = pool.acquire({ prefer: A });
    pool.remove(A, { drain: true });
    expect(pool.get(A)?.state).toBe('draining');
    expect(picks(pool, A, 3)).not.toContain(A);
    held.release();
    expect(pool.get(A)).toBeUndefined();
    expect(picks(pool, A, 3)).not.toContain(A);
    pool.remove(B);
    expect(picks(pool, B, 2)).toEqual([C, C]);
  });

  it('respects priority tiers: a backup endpoint is preferred only while its tier serves', () => {
    const { pool } = makePool({
      endpoints: [A, { url: C, priority: 1 }],
      panicThreshold: 0,
    });
    expect(picks(pool, C, 2)).toEqual([A, A]);
    pool.setHealth(A, false);
    expect(picks(pool, C, 2)).toEqual([C, C]);
    pool.setHealth(A, true);
    expect(picks(pool, C, 2)).toEqual([A, A]);
  });

  it('respects panic: an unhealthy endpoint is preferred while its tier is in panic', () => {
    const { pool } = makePool({ endpoints: [A, B, C], panicThreshold: 0.5 });
    pool.setHealth(A, false);
    // 2 of 3 healthy: no panic, A is not eligible.
    expect(picks(pool, A, 2)).not.toContain(A);
    pool.setHealth(B, false);
    // 1 of 3 healthy: panic, the whole tier is eligible, A included.
    expect(pool.snapshot().panic).toBe(true);
    expect(picks(pool, A, 2)).toEqual([A, A]);
  });

  it('counts a preferred lease like any other', () => {
    const { pool } = makePool({ endpoints: [A, B] });
    const lease = pool.acquire({ prefer: B });
    expect(lease.endpoint.inflight).toBe(1);
    lease.release({ ok: false });
    const b = pool.snapshot().endpoints.find((e) => e.id === B)!;
    expect(b).toMatchObject({ requests: 1, failures: 1, inflight: 0 });
  });

  it('is ignored after close, like every acquire', async () => {
    const { pool } = makePool({ endpoints: [A] });
    await pool.close();
    expect(pool.tryAcquire({ prefer: A })).toBeUndefined();
  });
});
