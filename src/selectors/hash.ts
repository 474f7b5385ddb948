/**
 * The one hash switchyard uses for keys and endpoint ids: MurmurHash3 x86 32-bit
 * (Austin Appleby, public domain) over the UTF-8 bytes of a string, computed without
 * allocating. Stable within a major version: separate processes — or another language
 * with a standard MurmurHash3_x86_32 over UTF-8 — map every key the same way.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

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
  let h = seed | 0;
  let k = 0;
  let shift = 0;
  let length = 0;
  const n = text.length;
  let i = 0;
  // Fast path: whole blocks of four ASCII characters (most keys are ASCII).
  for (; i + 4 <= n; i += 4) {
    const c0 = text.charCodeAt(i);
    const c1 = text.charCodeAt(i + 1);
    const c2 = text.charCodeAt(i + 2);
    const c3 = text.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) >= 0x80) break;
    k = c0 | (c1 << 8) | (c2 << 16) | (c3 << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  length = i;
  k = 0;
  for (; i < n; i++) {
    let cp = text.charCodeAt(i);
    if (cp < 0x80) {
      k |= cp << shift;
      shift += 8;
      length++;
      if (shift === 32) {
        k = Math.imul(k, C1);
        k = (k << 15) | (k >>> 17);
        k = Math.imul(k, C2);
        h ^= k;
        h = (h << 13) | (h >>> 19);
        h = (Math.imul(h, 5) + 0xe6546b64) | 0;
        k = 0;
        shift = 0;
      }
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const next = i + 1 < n ? text.charCodeAt(i + 1) : 0;
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
        k = Math.imul(k, C1);
        k = (k << 15) | (k >>> 17);
        k = Math.imul(k, C2);
        h ^= k;
        h = (h << 13) | (h >>> 19);
        h = (Math.imul(h, 5) + 0xe6546b64) | 0;
        k = 0;
        shift = 0;
      }
    }
  }
  if (shift > 0) {
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= length;
  return fmix32(h);
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
