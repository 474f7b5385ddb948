import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_RETRY_AFTER_MS,
  parseRetryAfter,
} from '../../../src/http/shared/retry-after.js';

const NOW = Date.UTC(2015, 9, 21, 7, 28, 0); // Wed, 21 Oct 2015 07:28:00 GMT

describe('parseRetryAfter', () => {
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter('5', NOW)).toBe(5_000);
    expect(parseRetryAfter(' 12 ', NOW)).toBe(12_000);
    expect(parseRetryAfter(['3', '9'], NOW)).toBe(3_000);
  });

  it('reads the three HTTP date forms as a delay from now', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Wednesday, 21-Oct-15 07:28:10 GMT', NOW)).toBe(10_000);
    expect(parseRetryAfter('Wed Oct 21 07:28:20 2015', NOW)).toBe(20_000);
    expect(parseRetryAfter('Wed Oct  1 07:28:20 2015', NOW)).toBe(0);
  });

  it('gives 0 for a date already past', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', NOW)).toBe(0);
  });

  it('caps the delay', () => {
    expect(parseRetryAfter('86400', NOW)).toBe(DEFAULT_MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('86400', NOW, 5_000)).toBe(5_000);
    expect(parseRetryAfter('Thu, 22 Oct 2015 07:28:00 GMT', NOW, 1_000)).toBe(1_000);
    expect(parseRetryAfter('9'.repeat(400), NOW)).toBe(DEFAULT_MAX_RETRY_AFTER_MS);
  });

  it('ignores what is neither form', () => {
    for (const bad of [undefined, '', ' ', '-5', '1.5', '5s', 'soon', '0x10', 'Wed, 21 Oct 2015']) {
      expect(parseRetryAfter(bad, NOW), String(bad)).toBeUndefined();
    }
    expect(parseRetryAfter('2015-10-21T07:28:30Z', NOW)).toBeUndefined();
    expect(parseRetryAfter([], NOW)).toBeUndefined();
  });
});
