import { describe, expect, it } from 'vitest';
import { NoEndpointError } from '../../src/index.js';
import { makePool } from './support.js';

const P0 = [
  'http://127.0.0.1:9001',
  'http://127.0.0.1:9002',
  'http://127.0.0.1:9003',
  'http://127.0.0.1:9004',
];
const P1 = ['http://127.0.1.1:9001', 'http://127.0.1.1:9002'];
const P2 = ['http://127.0.2.1:9001'];

function tiered(panicThreshold?: number) {
  return makePool({
    endpoints: [
      ...P0,
      ...P1.map((url) => ({ url, priority: 1 })),
      ...P2.map((url) => ({ url, priority: 2 })),
    ],
    ...(panicThreshold === undefined ? {} : { panicThreshold }),
  });
}

describe('priority tiers', () => {
  it('serves the best tier with a healthy endpoint, fails over to backups and back', () => {
    const { pool, selector } = tiered(0);
    expect(selector.ids).toEqual([...P0].sort());
    for (const id of P0.slice(0, 3)) pool.setHealth(id, false);
    expect(selector.ids).toEqual([P0[3]]); // one healthy in tier 0 is enough
    pool.setHealth(P0[3]!, false);
    expect(selector.ids).toEqual([...P1].sort());
    expect(pool.snapshot().tier).toBe(1);
    for (const id of P1) pool.setHealth(id, false);
    expect(selector.ids).toEqual(P2);
    pool.setHealth(P0[1]!, true);
    expect(selector.ids).toEqual([P0[1]]);
    expect(pool.snapshot().tier).toBe(0);
  });

  it('a draining endpoint never serves, and does not count in a tier', () => {
    const { pool, selector } = tiered(0.5);
    const lease = pool.acquire({ exclude: new Set(P0.slice(1).concat(P1, P2)) });
    pool.remove(P0[0]!, { drain: true });
    pool.setHealth(P0[1]!, false);
    // Tier 0 without the draining one: 2 healthy of 3 (67 %), no panic.
    expect(selector.ids).toEqual([P0[2], P0[3]].sort());
    lease.release();
  });
});

describe('panic threshold (Envoy)', () => {
  it('makes every endpoint of the tier eligible when its healthy share falls below it', () => {
    const { pool, selector } = tiered();
    pool.setHealth(P0[0]!, false);
    pool.setHealth(P0[1]!, false);
    expect(selector.ids).toEqual([P0[2], P0[3]].sort()); // 2 of 4 is not below 50 %
    expect(pool.snapshot().panic).toBe(false);
    pool.setHealth(P0[2]!, false);
    expect(selector.ids).toEqual([...P0].sort()); // 1 of 4: panic, the whole tier
    expect(pool.snapshot()).toMatchObject({ panic: true, tier: 0 });
    pool.setHealth(P0[2]!, true);
    expect(pool.snapshot().panic).toBe(false);
  });

  it('falls to a backup tier when a tier has no healthy endpoint at all', () => {
    const { pool, selector } = tiered();
    for (const id of P0) pool.setHealth(id, false);
    expect(selector.ids).toEqual([...P1].sort());
    pool.setHealth(P1[0]!, false); // 1 of 2 is not below 50 %
    expect(selector.ids).toEqual([P1[1]]);
  });

  it('panics over the best tier when no endpoint anywhere is healthy; 0 disables panic', () => {
    const { pool, selector } = tiered();
    for (const id of [...P0, ...P1, ...P2]) pool.setHealth(id, false);
    expect(selector.ids).toEqual([...P0].sort());
    expect(pool.snapshot()).toMatchObject({ panic: true, tier: 0 });

    const { pool: strict } = tiered(0);
    for (const id of [...P0, ...P1, ...P2]) strict.setHealth(id, false);
    expect(() => strict.acquire()).toThrow(NoEndpointError);
    expect(strict.snapshot()).toMatchObject({ panic: false, tier: null });
  });
});
