import { describe, expect, it } from 'vitest';
import {
  argsMistake,
  DEFAULT_DEMO_DURATION_MS,
  DEFAULT_DEMO_RATE,
  DURATION_FLAG,
  RATE_FLAG,
  readDemoFlag,
} from '../../src/cli/demo-options.js';

describe('demo flags', () => {
  it('read plain decimals within their bounds; absent is undefined', () => {
    expect(readDemoFlag(DURATION_FLAG, undefined)).toBeUndefined();
    expect(readDemoFlag(DURATION_FLAG, '1')).toBe(1);
    expect(readDemoFlag(DURATION_FLAG, ' 30 ')).toBe(30);
    expect(readDemoFlag(DURATION_FLAG, '1.5')).toBe(1.5);
    expect(readDemoFlag(DURATION_FLAG, '3600')).toBe(3600);
    expect(readDemoFlag(RATE_FLAG, '5000')).toBe(5000);
  });

  it('match the demo’s own defaults and bounds', () => {
    expect(DEFAULT_DEMO_DURATION_MS / 1000).toBeGreaterThanOrEqual(DURATION_FLAG.min);
    expect(DEFAULT_DEMO_RATE).toBeLessThanOrEqual(RATE_FLAG.max);
  });

  it('refuse anything else with one exact RangeError', () => {
    for (const text of [
      '',
      ' ',
      'soon',
      '-1',
      '0',
      '0.99',
      '3600.5',
      'Infinity',
      'NaN',
      '1e3',
      '0x10',
      '10s',
      '1,5',
    ]) {
      expect(() => readDemoFlag(DURATION_FLAG, text), text).toThrow(
        new RangeError(
          `--duration must be a number of seconds from 1 to 3600 (like 30), got ${JSON.stringify(text)}`,
        ),
      );
    }
  });

  it('argsMistake keeps messages it does not know', () => {
    expect(argsMistake(new Error('something else'))).toBe('something else');
  });
});
