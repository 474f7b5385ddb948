import { describe, expect, it } from 'vitest';
import type { Pool } from '../../src/pool/pool.js';
import { acquireOn, call, makePool, urls } from '../pool/support.js';

const [A, B, C] = urls(3) as [string, string, string];

/**
 * The ejection multiplier decays lazily, from the end of the last ejection. A `Retry-After`
 * ejection did not keep the decay earned so far, and its end restarted the decay from the
 * old, undecayed multiplier: an endpoint ejected four times an hour ago was ejected for five
 * times `baseEjectionMs` at its next failure after a one-second `Retry-After`, instead of
 * once. An ejection cut short by a drain did not record its end either.
 */
describe('Retry-After and drains keep the ejection multiplier’s decay', () => {
  const options = {
    endpoints: urls(3),
    outlierDetection: { consecutiveFailures: 1, baseEjectionMs: 100, maxEjectionMs: 10_000 },
  };
  const multiplier = (pool: Pool): number => pool.snapshot().endpoints[0]!.ejectionMultiplier;

  /** Ejects A for a failure and moves the clock to the end of the ejection. */
  function ejectA(pool: Pool, clock: { t: number }): number {
    const start = clock.t;
    call(pool, A, false);
    const until = pool.snapshot().endpoints[0]!.ejectedUntil!;
    clock.t = until;
    return until - start;
  }

  it('a Retry-After ejection does not bring a decayed multiplier back', () => {
    const { pool, clock } = makePool(options);
    for (let i = 0; i < 4; i++) ejectA(pool, clock);
    expect(multiplier(pool)).toBe(4);
    clock.t += 10_000;
    expect(multiplier(pool)).toBe(0);
    call(pool, A, true, { retryAfterMs: 10 });
    expect(pool.get(A)!.state).toBe('ejected');
    expect(multiplier(pool)).toBe(0);
    clock.t += 10;
    expect(pool.get(A)!.state).toBe('healthy');
    expect(multiplier(pool)).toBe(0);
    expect(ejectA(pool, clock)).toBe(100);
  });

  it('keeps the decay earned before a Retry-After, and pauses it during one', () => {
    const { pool, clock } = makePool(options);
    for (let i = 0; i < 4; i++) ejectA(pool, clock);
    clock.t += 250; // two full base periods back in service
    expect(multiplier(pool)).toBe(2);
    call(pool, A, true, { retryAfterMs: 1_000 });
    expect(multiplier(pool)).toBe(2);
    clock.t += 1_000;
    expect(pool.get(A)!.state).toBe('healthy');
    expect(multiplier(pool)).toBe(2);
    expect(ejectA(pool, clock)).toBe(300); // 2 + 1
  });

  it('an ejection cut short by a drain ends then, for the decay', () => {
    const { pool, clock } = makePool(options);
    const held = acquireOn(pool, A);
    ejectA(pool, clock); // multiplier 1, ended at t = 100
    clock.t += 50;
    call(pool, A, false); // multiplier 2, ejected from 150 to 350
    expect(multiplier(pool)).toBe(2);
    clock.t = 200;
    pool.setEndpoints([B, C], { drain: true }); // A drains: its ejection ends now
    clock.t = 210;
    pool.add(A); // the drain is cancelled
    expect(pool.get(A)!.state).toBe('healthy');
    expect(multiplier(pool)).toBe(2); // 10 ms back in service: no decay yet
    clock.t = 300;
    expect(multiplier(pool)).toBe(1);
    held.release();
  });
});
