import { describe, expect, it } from 'vitest';
import {
  KEY_CACHE_BYTES,
  KeyCache,
  MAX_CACHED_KEY_LENGTH,
} from '../../../src/selectors/key-cache.js';
import { Maglev } from '../../../src/selectors/maglev.js';

// Resource class: the hashing key cache held 4 096 keys of any length, so clients choosing
// the key (a header, by `affinity: { key }`) could pin ~64 MiB of their own bytes.

describe('the hashing key cache', () => {
  it('is bounded in bytes, whatever the keys', () => {
    const cache = new KeyCache(4096);
    cache.reset(0);
    const key = (i: number) => `${i}:`.padEnd(MAX_CACHED_KEY_LENGTH, 'x');
    for (let i = 0; i < 4096; i++) {
      if (cache.get(key(i)) === -1) cache.set(key(i), i % 3);
      expect(cache.bytes).toBeLessThanOrEqual(KEY_CACHE_BYTES);
    }
    expect(cache.size).toBeLessThan(4096);
    expect(cache.size * 2 * MAX_CACHED_KEY_LENGTH).toBeLessThanOrEqual(KEY_CACHE_BYTES);
  });

  it('never holds a key longer than the cap, and still answers for it', () => {
    const cache = new KeyCache(16);
    cache.reset(0);
    const long = 'k'.repeat(MAX_CACHED_KEY_LENGTH + 1);
    cache.set(long, 1);
    expect(cache.size).toBe(0);
    expect(cache.get(long)).toBe(-1);
    const maglev = new Maglev();
    maglev.update([
      { id: 'a', weight: 1 },
      { id: 'b', weight: 1 },
    ] as never);
    const first = maglev.pick({ key: long });
    for (let i = 0; i < 5; i++) expect(maglev.pick({ key: long })).toBe(first);
  });
});
