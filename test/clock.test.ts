import { describe, expect, it } from 'vitest';
import { defaultClock } from '../src/clock.js';

describe('defaultClock', () => {
  it('reads performance.now where the runtime has it', () => {
    const now = defaultClock();
    const before = performance.now();
    const t = now();
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(performance.now());
  });
});
