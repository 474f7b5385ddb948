/**
 * Machinery shared by the hashing selectors (`RingHash`, `Maglev`, `Rendezvous`): the
 * canonical id order that makes their tables independent of the order the endpoints are
 * listed in, and the cheap "is everything excluded?" test.
 * @internal
 */
import type { SelectorEndpoint } from './selector.js';

const TWO_POW_32 = 4294967296;

/**
 * Orders ids by Unicode code point, which is also the byte order of their UTF-8
 * encodings (what Go, Rust or C would compare), rather than by UTF-16 code unit.
 * @internal
 */
export function compareIds(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // Surrogates (D800–DFFF) stand for code points above FFFF, so they sort after
      // E000–FFFF: shift them up past it and shift E000–FFFF down into the gap.
      if (x >= 0xd800) x += x <= 0xdfff ? 0x2000 : -0x800;
      if (y >= 0xd800) y += y <= 0xdfff ? 0x2000 : -0x800;
      return x - y;
    }
  }
  return a.length - b.length;
}

/**
 * The canonical order of an endpoint list: `order[rank]` is the index of the endpoint
 * whose id is the `rank`-th smallest by {@link compareIds}.
 * @internal
 */
export function idOrder(endpoints: readonly SelectorEndpoint[]): Uint32Array {
  const indices: number[] = [];
  for (let i = 0; i < endpoints.length; i++) indices.push(i);
  indices.sort((a, b) => compareIds(endpoints[a]!.id, endpoints[b]!.id));
  return Uint32Array.from(indices);
}

/** Maps each id to its index in `endpoints`. @internal */
export function indexIds(endpoints: readonly SelectorEndpoint[]): Map<string, number> {
  const map = new Map<string, number>();
  for (let i = 0; i < endpoints.length; i++) map.set(endpoints[i]!.id, i);
  return map;
}

/**
 * True when `exclude` names every one of the `n` endpoints in `indexById`. Free in the
 * common case: a set smaller than `n` cannot cover them all, so only a set at least as
 * large as the endpoint list is walked.
 * @internal
 */
export function allExcluded(
  exclude: ReadonlySet<string>,
  indexById: ReadonlyMap<string, number>,
  n: number,
): boolean {
  if (exclude.size < n) return false;
  let present = 0;
  for (const id of exclude) if (indexById.has(id)) present++;
  return present >= n;
}

/**
 * `hash mod size` for an unsigned 32-bit `hash` and an integer `size` in [1, 2^24],
 * exactly, without the floating-point `%` (which V8 compiles to a slow instruction
 * sequence once the hash exceeds the small-integer range): the double quotient
 * `hash / size` is never rounded across an integer (its fractional part, when there is
 * one, is at least 1 / size, far more than half an ulp), so its floor is the integer
 * quotient, and the product and difference are exact below 2^53.
 * @internal
 */
export function modulo(hash: number, size: number): number {
  return hash - Math.floor(hash / size) * size;
}

/** A uniformly random unsigned 32-bit point, for picks without a key. @internal */
export function randomPoint(random: () => number): number {
  return Math.floor(random() * TWO_POW_32) >>> 0;
}
