import { describe, expect, it } from 'vitest';
import { functionOption, numberOption } from '../src/validate.js';

describe('numberOption', () => {
  it('gives the fallback when the option is absent, else the checked value', () => {
    expect(numberOption({}, 'intervalMs', 5_000, { min: 0 })).toBe(5_000);
    expect(numberOption({ intervalMs: undefined }, 'intervalMs', 5_000, { min: 0 })).toBe(5_000);
    expect(numberOption({ intervalMs: 0 }, 'intervalMs', 5_000, { min: 0 })).toBe(0);
  });

  it('rejects a bad value, named by key or by the name given', () => {
    expect(() => numberOption({ n: -1 }, 'n', 1, { min: 0 })).toThrow(
      new RangeError('n must be a finite number >= 0, got -1'),
    );
    expect(() => numberOption({ baseMs: '5' }, 'baseMs', 1, { min: 0 }, 'backoff.baseMs')).toThrow(
      new TypeError('backoff.baseMs must be a finite number >= 0, got "5"'),
    );
  });
});

describe('functionOption', () => {
  it('gives the fallback when the option is absent, else the function', () => {
    const fallback = (): number => 1;
    const given = (): number => 2;
    expect(functionOption({}, 'now', fallback)).toBe(fallback);
    expect(functionOption({ now: given }, 'now', fallback)).toBe(given);
  });

  it('rejects anything but a function', () => {
    expect(() => functionOption({ now: 5 }, 'now', Date.now)).toThrow(
      new TypeError('now must be a function, got 5'),
    );
  });
});
