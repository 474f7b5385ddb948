/**
 * The one hash switchyard uses for keys and endpoint ids: MurmurHash3 x86 32-bit
 * (Austin Appleby, public domain) over the UTF-8 bytes of a string, computed without
 * allocating. Stable within a major version: separate processes — or another language
 * with a standard MurmurHash3_x86_32 over UTF-8 — map every key the same way.
 */

/**
 * MurmurHash3_x86_32 of the UTF-8 encoding of `text` (lone surrogates become U+FFFD, as
 * `TextEncoder` does).
 *
 * @param text - the string to hash
 * @param seed - a 32-bit seed
 * @defaultValue seed `0`
 * @returns an unsigned 32-bit integer
 * @example
 * ```ts
 * murmur3('hello'); // 0x248bfa47
 * ```
 */
export function murmur3(text: string, seed = 0): number {
  // ASCII only here (UTF-8 is then the characters themselves: four characters are a
  // block and the byte length is `text.length`); anything else continues in
  // murmur3Utf8, which keeps this function small enough for the optimising compiler to
  // inline. `charCodeAt.call` rather than `text.charCodeAt`: the method lookup on the
  // string records one map per string shape (flat, cons, sliced, two-byte…) and turns
  // megamorphic once a process has hashed a few shapes, after which every character
  // costs a generic call, several times slower. Read here rather than at module level,
  // where a bundler turns the constant into a `var` the compiler cannot fold.
  const charCodeAt = String.prototype.charCodeAt;
  const n = text.length;
  let h = seed | 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const c0 = charCodeAt.call(text, i);
    const c1 = charCodeAt.call(text, i + 1);
    const c2 = charCodeAt.call(text, i + 2);
    const c3 = charCodeAt.call(text, i + 3);
    if ((c0 | c1 | c2 | c3) >= 0x80) return murmur3Utf8(text, h, i);
    h = mixBlock(h, c0 | (c1 << 8) | (c2 << 16) | (c3 << 24));
  }
  if (i < n) {
    // The last one to three characters.
    let k = 0;
    for (let j = i, shift = 0; j < n; j++, shift += 8) {
      const c = charCodeAt.call(text, j);
      if (c >= 0x80) return murmur3Utf8(text, h, i);
      k |= c << shift;
    }
    h ^= mixK(k);
  }
  return fmix32(h ^ n);
}

/**
 * The rest of {@link murmur3} from character `start` on, for text that is not all ASCII:
 * `h` is the state after the blocks of `text[0, start)`, all ASCII.
 */
function murmur3Utf8(text: string, h: number, start: number): number {
  const charCodeAt = String.prototype.charCodeAt;
  const n = text.length;
  let k = 0;
  let shift = 0;
  let length = start;
  for (let i = start; i < n; i++) {
    let cp = charCodeAt.call(text, i);
    if (cp < 0x80) {
      k |= cp << shift;
      shift += 8;
      length++;
      if (shift === 32) {
        h = mixBlock(h, k);
        k = 0;
        shift = 0;
      }
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const next = i + 1 < n ? charCodeAt.call(text, i + 1) : 0;
      if (cp <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        cp = 0xfffd;
      }
    }
    let enc: number;
    let bytes: number;
    if (cp < 0x800) {
      enc = 0xc0 | (cp >> 6) | ((0x80 | (cp & 0x3f)) << 8);
      bytes = 2;
    } else if (cp < 0x10000) {
      enc = 0xe0 | (cp >> 12) | ((0x80 | ((cp >> 6) & 0x3f)) << 8) | ((0x80 | (cp & 0x3f)) << 16);
      bytes = 3;
    } else {
      enc =
        0xf0 |
        (cp >> 18) |
        ((0x80 | ((cp >> 12) & 0x3f)) << 8) |
        ((0x80 | ((cp >> 6) & 0x3f)) << 16) |
        ((0x80 | (cp & 0x3f)) << 24);
      bytes = 4;
    }
    for (let b = 0; b < bytes; b++) {
      k |= ((enc >>> (b << 3)) & 0xff) << shift;
      shift += 8;
      length++;
      if (shift === 32) {
        h = mixBlock(h, k);
        k = 0;
        shift = 0;
      }
    }
  }
  if (shift > 0) h ^= mixK(k);
  return fmix32(h ^ length);
}

/** One 4-byte block into the state. */
function mixBlock(h: number, k: number): number {
  h ^= mixK(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** A block (or the zero-padded tail) scrambled before it joins the state. */
function mixK(k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}

/**
 * MurmurHash3's 32-bit finaliser: a bijection on 32-bit integers with full avalanche.
 * Used to mix a key's hash with an endpoint's (rendezvous scores).
 *
 * @example
 * ```ts
 * fmix32(murmur3('user-42') ^ murmur3('app-1')); // rendezvous score input
 * ```
 */
export function fmix32(value: number): number {
  let h = value | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
