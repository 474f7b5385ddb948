import { describe, expect, it } from 'vitest';
import type { MembershipChangeEvent } from '../../src/index.js';
import { acquireOn, call, describeEvents, makePool, urls } from './support.js';

const [A, B, C, D] = urls(4) as [string, string, string, string];

function membership(pool: ReturnType<typeof makePool>['pool']): string[] {
  const log: string[] = [];
  pool.onMembershipChange((e: MembershipChangeEvent) =>
    log.push(`+[${e.added.map((x) => x.id).join(',')}] -[${e.removed.map((x) => x.id).join(',')}]`),
  );
  return log;
}

describe('add and remove', () => {
  it('add emits an added state event, then a membership event', () => {
    const { pool, events, selector } = makePool({ endpoints: [A] });
    const log = membership(pool);
    const order: string[] = [];
    pool.onStateChange(() => order.push('state'));
    pool.onMembershipChange(() => order.push('membership'));
    const added = pool.add(B);
    expect(added).toBe(pool.get(B));
    expect(describeEvents(events)).toEqual([`${B} ∅→healthy added`]);
    expect(log).toEqual([`+[${B}] -[]`]);
    expect(order).toEqual(['state', 'membership']);
    expect(selector.ids).toEqual([A, B]);
    expect(() => pool.add(B)).toThrow(new RangeError(`duplicate endpoint id "${B}"`));
    expect(() => pool.add(`${B}/`)).toThrow(/duplicate endpoint id/); // same once normalised
  });

  it('remove takes an endpoint out at once; its outstanding lease still releases safely', () => {
    const { pool, events, selector } = makePool({ endpoints: [A, B] });
    const log = membership(pool);
    const lease = acquireOn(pool, A);
    expect(pool.remove(A)).toBe(true);
    expect(pool.remove(A)).toBe(false);
    expect(pool.get(A)).toBeUndefined();
    expect(pool.endpoints.map((e) => e.id)).toEqual([B]);
    expect(selector.ids).toEqual([B]);
    expect(describeEvents(events)).toEqual([`${A} healthy→∅ removed`]);
    expect(log).toEqual([`+[] -[${A}]`]);
    lease.release({ ok: false, retryAfterMs: 1_000 });
    expect(lease.endpoint.inflight).toBe(0);
    expect(pool.snapshot().totals).toMatchObject({ inflight: 0, failures: 1, ejected: 0 });
    expect(events).toHaveLength(1);
  });

  it('drain: no new picks, removed when in-flight reaches 0', () => {
    const { pool, events, selector } = makePool({ endpoints: [A, B] });
    const log = membership(pool);
    const l1 = acquireOn(pool, A);
    const l2 = acquireOn(pool, A);
    pool.remove(A, { drain: true });
    pool.remove(A, { drain: true }); // already draining: nothing new
    expect(pool.get(A)!.state).toBe('draining');
    expect(selector.ids).toEqual([B]);
    for (let i = 0; i < 5; i++) {
      const lease = pool.acquire();
      expect(lease.endpoint.id).toBe(B);
      lease.release();
    }
    expect(pool.snapshot().totals.draining).toBe(1);
    l1.release();
    expect(pool.get(A)!.state).toBe('draining');
    expect(log).toEqual([]);
    l2.release();
    expect(pool.get(A)).toBeUndefined();
    expect(describeEvents(events)).toEqual([
      `${A} healthy→draining drain`,
      `${A} draining→∅ drained`,
    ]);
    expect(log).toEqual([`+[] -[${A}]`]);
    expect(pool.snapshot().totals.draining).toBe(0);
  });

  it('drain of an idle endpoint removes it at once', () => {
    const { pool, events } = makePool({ endpoints: [A, B] });
    pool.remove(A, { drain: true });
    expect(describeEvents(events)).toEqual([`${A} healthy→∅ removed`]);
  });

  it('adding a draining id cancels the drain', () => {
    const { pool, events } = makePool({ endpoints: [A, B] });
    const lease = acquireOn(pool, A);
    pool.remove(A, { drain: true });
    const again = pool.add({ url: A, weight: 5 });
    expect(again).toBe(lease.endpoint);
    expect(again).toMatchObject({ state: 'healthy', configuredWeight: 5, inflight: 1 });
    lease.release();
    expect(pool.get(A)).toBe(again);
    expect(describeEvents(events)).toEqual([
      `${A} healthy→draining drain`,
      `${A} draining→healthy drain-cancelled`,
    ]);
  });
});

describe('setEndpoints', () => {
  it('diffs by id: survivors keep counters and state, take new settings; one membership event', () => {
    const { pool, events, selector } = makePool({
      endpoints: [A, B, C],
      outlierDetection: { consecutiveFailures: 1 },
    });
    const log = membership(pool);
    for (let i = 0; i < 3; i++) call(pool, A, true);
    pool.setHealth(B, false);
    call(pool, C, false);
    const a = pool.get(A)!;
    const before = pool.snapshot().endpoints;
    events.length = 0;
    pool.setEndpoints([{ url: A, weight: 2, metadata: { v: 2 } }, { url: B, priority: 0 }, C, D]);
    expect(pool.get(A)).toBe(a);
    const after = pool.snapshot().endpoints;
    expect(after[0]).toMatchObject({
      requests: 3,
      successes: 3,
      configuredWeight: 2,
      metadata: { v: 2 },
    });
    expect(after[1]).toMatchObject({ state: 'unhealthy' });
    expect(after[2]).toMatchObject({
      state: 'ejected',
      ejectedUntil: before[2]!.ejectedUntil,
      failures: 1,
    });
    expect(describeEvents(events)).toEqual([`${D} ∅→healthy added`]);
    expect(log).toEqual([`+[${D}] -[]`]);
    expect(selector.endpoints.find((e) => e.id === A)!.weight).toBe(2);

    pool.setEndpoints([D, { url: C, priority: 1 }]);
    expect(pool.endpoints.map((e) => e.id)).toEqual([C, D]);
    expect(log[1]).toBe(`+[] -[${A},${B}]`);
    expect(selector.ids).toEqual([D]);
  });

  it('validates everything first: a bad input changes nothing', () => {
    const { pool, events } = makePool({ endpoints: [A] });
    expect(() => pool.setEndpoints([B, 'not a url'])).toThrow(
      /endpoints\[1\]: url must be an absolute URL, got "not a url"/,
    );
    expect(() => pool.setEndpoints([B, `${B}/`])).toThrow(
      /duplicate endpoint id ".*" at endpoints\[1\]/,
    );
    expect(pool.endpoints.map((e) => e.id)).toEqual([A]);
    expect(events).toEqual([]);
  });

  it('drains the endpoints that leave when asked', () => {
    const { pool, events } = makePool({ endpoints: [A, B] });
    const lease = acquireOn(pool, A);
    pool.setEndpoints([B], { drain: true });
    expect(pool.get(A)!.state).toBe('draining');
    pool.setEndpoints([A, B]); // back before it drained
    expect(pool.get(A)!.state).toBe('healthy');
    lease.release();
    expect(describeEvents(events)).toEqual([
      `${A} healthy→draining drain`,
      `${A} draining→healthy drain-cancelled`,
    ]);
  });
});

describe('setWeight and setHealth', () => {
  it('setWeight updates the effective weight and the selector; unknown ids return false', () => {
    const { pool, selector } = makePool({ endpoints: [A, B] });
    const updates = selector.updates;
    expect(pool.setWeight(A, 3)).toBe(true);
    expect(pool.get(A)).toMatchObject({ weight: 3, configuredWeight: 3 });
    expect(selector.updates).toBe(updates + 1);
    expect(pool.setWeight('nope', 3)).toBe(false);
    expect(() => pool.setWeight(A, 0)).toThrow(
      new RangeError(`weight must be a finite number > 0, got 0 (endpoint "${A}")`),
    );
    expect(() => pool.setWeight(A, Number.NaN)).toThrow(/got NaN/);
  });

  it('setHealth ignores unknown ids and takes a custom reason', () => {
    const { pool, events } = makePool({ endpoints: [A] });
    pool.setHealth('gone', false);
    pool.setHealth(A, false, 'admin');
    expect(describeEvents(events)).toEqual([`${A} healthy→unhealthy admin`]);
    expect(() => pool.setHealth(A, 'no' as never)).toThrow(/healthy must be a boolean, got "no"/);
  });

  it('state precedence: draining > unhealthy > ejected > healthy', () => {
    const { pool, clock, events } = makePool({
      endpoints: [A, B, C],
      outlierDetection: { consecutiveFailures: 1, baseEjectionMs: 100 },
    });
    const lease = acquireOn(pool, A);
    call(pool, A, false);
    pool.setHealth(A, false);
    pool.setHealth(A, true);
    pool.setHealth(A, false);
    pool.remove(A, { drain: true });
    clock.advance(100); // the ejection ends under "draining": no event
    pool.acquire().release();
    lease.release();
    expect(describeEvents(events)).toEqual([
      `${A} healthy→ejected consecutive-failures`,
      `${A} ejected→unhealthy health-check`,
      `${A} unhealthy→ejected health-check`,
      `${A} ejected→unhealthy health-check`,
      `${A} unhealthy→draining drain`,
      `${A} draining→∅ drained`,
    ]);
  });
});
