import { describe, expect, it } from 'vitest';
import { HealthMonitor } from '../../src/health/health-monitor.js';
import { acquireOn, call, describeEvents, makePool, urls } from './support.js';

const [A, B, C] = urls(3) as [string, string, string];

describe('Pool: disable and enable (HAProxy MAINT)', () => {
  it('takes a disabled endpoint out, one event each way, with a reason', () => {
    const { pool, selector, events } = makePool({ endpoints: urls(3) });
    events.length = 0;
    expect(pool.disable(A)).toBe(true);
    expect(pool.get(A)!.state).toBe('disabled');
    expect(selector.ids).toEqual([B, C]);
    expect(pool.disable(A)).toBe(true); // no change, no event
    expect(pool.enable(A)).toBe(true);
    expect(pool.enable(A)).toBe(true);
    expect(pool.get(A)!.state).toBe('healthy');
    expect(selector.ids).toEqual([A, B, C]);
    expect(describeEvents(events)).toEqual([
      `${A} healthy→disabled disable`,
      `${A} disabled→healthy enable`,
    ]);
    expect(pool.snapshot().totals).toMatchObject({ disabled: 0, healthy: 3 });
  });

  it('never makes a disabled endpoint eligible, not even in panic', () => {
    const { pool, selector } = makePool({ endpoints: urls(3), panicThreshold: 1 });
    pool.disable(A);
    pool.setHealth(B, false);
    pool.setHealth(C, false);
    // Tier 0 has no healthy endpoint: panic makes every endpoint of it eligible but A.
    expect(pool.snapshot().panic).toBe(true);
    expect(selector.ids).toEqual([B, C]);
    pool.disable(B);
    pool.disable(C);
    expect(pool.tryAcquire()).toBeUndefined();
    expect(() => pool.acquire()).toThrow(/3 disabled/);
  });

  it('lets leases out finish, with no ejection of a disabled endpoint', () => {
    const { pool } = makePool({
      endpoints: urls(2),
      outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 100 },
    });
    const lease = acquireOn(pool, A);
    pool.disable(A);
    expect(pool.get(A)!.inflight).toBe(1);
    lease.release({ ok: false, retryAfterMs: 1000 });
    expect(pool.get(A)!.state).toBe('disabled');
    expect(pool.snapshot().endpoints[0]).toMatchObject({ ejections: 0, ejectedUntil: null });
  });

  it('ends an ejection on disable; enable returns to the health flag and ramps up', () => {
    const { pool, clock, events } = makePool({
      endpoints: urls(2),
      slowStartMs: 10_000,
      outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 100 },
    });
    call(pool, A, false);
    expect(pool.get(A)!.state).toBe('ejected');
    pool.disable(A, 'maintenance');
    expect(pool.snapshot().endpoints[0]!.ejectedUntil).toBeNull();
    pool.setHealth(A, false);
    expect(pool.get(A)!.state).toBe('disabled');
    pool.enable(A);
    expect(pool.get(A)!.state).toBe('unhealthy');
    pool.setHealth(A, true);
    expect(pool.get(A)!.state).toBe('healthy');
    expect(pool.get(A)!.weight).toBeLessThan(1); // slow start
    clock.advance(10_000);
    expect(pool.get(A)!.weight).toBe(1);
    expect(describeEvents(events).slice(-4)).toEqual([
      `${A} healthy→ejected consecutive-failures`,
      `${A} ejected→disabled maintenance`,
      `${A} disabled→unhealthy enable`,
      `${A} unhealthy→healthy health-check`,
    ]);
  });

  it('answers false for unknown ids, throws for a bad reason and after close', async () => {
    const { pool } = makePool({ endpoints: urls(1) });
    expect(pool.disable('nope')).toBe(false);
    expect(pool.enable('nope')).toBe(false);
    expect(pool.drain('nope')).toBe(false);
    expect(() => pool.disable(A, '')).toThrow(TypeError);
    await pool.close();
    expect(() => pool.disable(A)).toThrow(expect.objectContaining({ code: 'ERR_POOL_CLOSED' }));
  });
});

describe('Pool: drain by an operator (HAProxy DRAIN)', () => {
  it('takes no new requests, lets in-flight ones finish, and keeps the endpoint until enable', () => {
    const { pool, selector, events } = makePool({ endpoints: urls(2) });
    events.length = 0;
    const lease = acquireOn(pool, A);
    expect(pool.drain(A)).toBe(true);
    expect(pool.get(A)!.state).toBe('draining');
    expect(selector.ids).toEqual([B]);
    lease.release({ ok: true });
    // Idle, and still there.
    expect(pool.get(A)!.state).toBe('draining');
    expect(pool.endpoints.map((e) => e.id)).toEqual([A, B]);
    expect(pool.snapshot().totals).toMatchObject({ draining: 1, endpoints: 2 });
    pool.enable(A);
    expect(selector.ids).toEqual([A, B]);
    expect(describeEvents(events)).toEqual([
      `${A} healthy→draining drain`,
      `${A} draining→healthy enable`,
    ]);
  });

  it('drain and disable replace each other; remove with drain still removes', () => {
    const { pool, events } = makePool({ endpoints: urls(2) });
    events.length = 0;
    pool.drain(A);
    pool.disable(A);
    pool.drain(A);
    expect(pool.get(A)!.state).toBe('draining');
    const lease = acquireOn(pool, B);
    pool.drain(B);
    pool.remove(B, { drain: true });
    expect(pool.get(B)!.state).toBe('draining');
    pool.enable(B); // leaving wins: the removal goes on
    lease.release();
    expect(pool.get(B)).toBeUndefined();
    // A drained endpoint is still a member: adding its id again is a duplicate.
    expect(() => pool.add(A)).toThrow(/duplicate/);
    // setEndpoints keeps an operator's drain.
    pool.setEndpoints([A, C]);
    expect(pool.get(A)!.state).toBe('draining');
    expect(describeEvents(events)).toEqual([
      `${A} healthy→draining drain`,
      `${A} draining→disabled disable`,
      `${A} disabled→draining drain`,
      `${B} healthy→draining drain`,
      `${B} draining→∅ drained`,
      `${C} ∅→healthy added`,
    ]);
  });

  it('a removal with drain cancelled by add() leaves an operator drain in force', () => {
    const { pool } = makePool({ endpoints: urls(2) });
    const lease = acquireOn(pool, A);
    pool.drain(A);
    pool.remove(A, { drain: true });
    pool.add(A);
    lease.release();
    expect(pool.get(A)!.state).toBe('draining');
    pool.enable(A);
    expect(pool.get(A)!.state).toBe('healthy');
  });
});

describe('HealthMonitor and operator modes', () => {
  it('pauses checks of disabled and drained endpoints, resumes them on enable', async () => {
    const { pool } = makePool({ endpoints: urls(3) });
    const checked: string[] = [];
    const monitor = new HealthMonitor(pool, {
      check: async (endpoint) => {
        checked.push(endpoint.id);
        throw new Error('down');
      },
      unhealthyThreshold: 1,
    });
    pool.disable(A);
    pool.drain(B);
    await monitor.checkNow();
    expect(checked).toEqual([C]);
    expect(pool.get(A)!.state).toBe('disabled');
    expect(monitor.status(C)).toMatchObject({
      healthy: false,
      passed: 0,
      failed: 1,
      last: { ok: false, error: 'down' },
    });
    expect(monitor.status(A)).toMatchObject({ healthy: true, last: null, passed: 0, failed: 0 });
    expect(monitor.status('nope')).toBeUndefined();
    expect(monitor.pool).toBe(pool);
    pool.enable(A);
    await monitor.checkNow();
    expect(checked).toEqual([C, A, C]);
    expect(pool.get(A)!.state).toBe('unhealthy');
    await monitor.stop();
  });
});
