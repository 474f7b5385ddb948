import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { fmix32, murmur3 } from '../../src/selectors/hash.js';

/** MurmurHash3_x86_32 written the textbook way, over the bytes `TextEncoder` produces. */
function reference(text: string, seed: number): number {
  const bytes = new TextEncoder().encode(text);
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));
  let h = seed | 0;
  const blocks = bytes.length >> 2;
  for (let i = 0; i < blocks; i++) {
    let k =
      bytes[4 * i]! |
      (bytes[4 * i + 1]! << 8) |
      (bytes[4 * i + 2]! << 16) |
      (bytes[4 * i + 3]! << 24);
    k = Math.imul(rotl(Math.imul(k, c1), 15), c2);
    h = (Math.imul(rotl(h ^ k, 13), 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  const rest = bytes.length & 3;
  if (rest > 0) {
    let k = 0;
    if (rest === 3) k ^= bytes[tail + 2]! << 16;
    if (rest >= 2) k ^= bytes[tail + 1]! << 8;
    k ^= bytes[tail]!;
    h ^= Math.imul(rotl(Math.imul(k, c1), 15), c2);
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** One UTF-16 code unit or code point, lone surrogates included. */
const unit = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
);

describe('murmur3', () => {
  test.each([
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['hello', 0, 0x248bfa47],
    ['Hello, world!', 1234, 0xfaf6cdb3],
    ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
    ['abc', 0, 0xb3dd93fa],
    ['ab', 0x9747b28c, 0x74875592],
  ])('murmur3(%j, %d) is the published value', (text, seed, expected) => {
    expect(murmur3(text, seed)).toBe(expected);
    expect(reference(text, seed)).toBe(expected);
  });

  test('defaults the seed to 0 and returns unsigned 32-bit integers', () => {
    expect(murmur3('hello')).toBe(murmur3('hello', 0));
    for (const text of ['a', 'bb', 'ccc', 'dddd', 'ééé', '🚀']) {
      const h = murmur3(text);
      expect(Number.isInteger(h) && h >= 0 && h < 2 ** 32).toBe(true);
    }
  });

  test('hashes lone surrogates as U+FFFD, like TextEncoder', () => {
    expect(murmur3('a\ud800b')).toBe(murmur3('a\ufffdb'));
    expect(murmur3('\udc00')).toBe(murmur3('\ufffd'));
    expect(murmur3('\ud83d\ude80')).not.toBe(murmur3('\ufffd\ufffd'));
  });

  test.prop([fc.string({ unit: 'binary' }), fc.integer({ min: 0, max: 0xffffffff })], {
    numRuns: 500,
  })('matches the byte-wise reference on any code points', (text, seed) => {
    expect(murmur3(text, seed)).toBe(reference(text, seed));
  });

  test.prop([fc.string({ unit, maxLength: 40 }), fc.integer({ min: 0, max: 0xffffffff })], {
    numRuns: 500,
  })('matches the byte-wise reference with lone and paired surrogates', (text, seed) => {
    expect(murmur3(text, seed)).toBe(reference(text, seed));
  });
});

describe('murmur3 on the boundaries of its ASCII fast path', () => {
  const ascii = fc.string({
    unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)),
  });

  test.prop(
    [ascii, fc.string({ unit, maxLength: 6 }), ascii, fc.integer({ min: 0, max: 0xffffffff })],
    {
      numRuns: 1000,
    },
  )(
    'matches the reference whatever the ASCII prefix before other characters',
    (head, middle, tail, seed) => {
      const text = head + middle + tail;
      expect(murmur3(text, seed)).toBe(reference(text, seed));
    },
  );

  test('a character outside ASCII at every position of a block or of the tail', () => {
    for (let length = 1; length <= 13; length++) {
      for (let at = 0; at < length; at++) {
        for (const other of ['é', '€', '\ud83d\ude80', '\ud800']) {
          const text = 'a'.repeat(at) + other + 'b'.repeat(length - at - 1);
          expect(murmur3(text, 7)).toBe(reference(text, 7));
        }
      }
    }
  });

  test('hashes every string representation alike (flat, cons, sliced, internalised)', () => {
    const long = `${'x'.repeat(40)}0123456789abcdefghij`;
    const texts = [
      'literal-key-1234',
      `tenant-${long.length}:` + 'abcdefghijklmnop',
      `ténant-${long.length}:` + 'abcdefghijklmnop',
      long.slice(3, 31),
      String.fromCharCode(...Array.from({ length: 30 }, (_, i) => 97 + (i % 26))),
    ];
    for (let round = 0; round < 3; round++) {
      for (const text of texts) expect(murmur3(text, round)).toBe(reference(text, round));
    }
  });
});

describe('fmix32', () => {
  test('is the MurmurHash3 finaliser', () => {
    expect(fmix32(0)).toBe(0);
    // murmur3('', seed) is fmix32(seed ^ 0).
    expect(fmix32(1)).toBe(0x514e28b7);
  });

  test.prop([fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })])(
    'is a bijection (distinct inputs, distinct outputs)',
    (a, b) => {
      fc.pre(a !== b);
      expect(fmix32(a)).not.toBe(fmix32(b));
      expect(fmix32(a)).toBeGreaterThanOrEqual(0);
    },
  );
});
