import { describe, expect, it } from 'vitest';
import { call, describeEvents, makePool, urls } from '../pool/support.js';

const [A, B, C, D, E] = urls(5) as [string, string, string, string, string];

/**
 * `setEndpoints` applied the `maxEjectionPercent` cap after its removals and before its
 * additions, to a membership that never existed: replacing one endpoint of two ended the
 * other's ejection (1 of 1 ejected), although the new membership (1 of 2) is within the cap.
 */
describe('setEndpoints: the ejection cap applies to the new membership', () => {
  it('keeps an ejection that the new membership allows', () => {
    const { pool, events } = makePool({
      endpoints: [A, B],
      outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 50 },
    });
    call(pool, A, false); // 1 of 2 ejected: 50 %
    pool.setEndpoints([A, C]); // still 1 of 2
    expect(pool.get(A)!.state).toBe('ejected');
    expect(describeEvents(events)).toEqual([
      `${A} healthy→ejected consecutive-failures`,
      `${B} healthy→∅ removed`,
      `${C} ∅→healthy added`,
    ]);
  });

  it('counts a draining endpoint that is listed again as a member', () => {
    const { pool } = makePool({
      endpoints: [A, B, C],
      outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 50 },
    });
    const lease = pool.acquire({ prefer: B });
    pool.setEndpoints([A, C], { drain: true }); // B drains
    call(pool, A, false); // 1 of 2 members ejected
    pool.setEndpoints([A, B, D]); // C leaves, B is back: 1 of 3
    expect(pool.get(A)!.state).toBe('ejected');
    lease.release();
  });

  it('still ends ejections when the new membership is over the cap', () => {
    const { pool, clock, events } = makePool({
      endpoints: [A, B, C, D],
      outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 50 },
    });
    call(pool, A, false);
    clock.advance(10);
    call(pool, B, false); // 2 of 4 ejected
    events.length = 0;
    pool.setEndpoints([A, B, E]); // 2 of 3 would be 67 %: A, whose ejection ends first, returns
    expect(describeEvents(events)).toEqual([
      `${C} healthy→∅ removed`,
      `${D} healthy→∅ removed`,
      `${E} ∅→healthy added`,
      `${A} ejected→healthy ejection-cap`,
    ]);
    expect(pool.get(B)!.state).toBe('ejected');
  });
});
