/** Shared by the tests of the hashing selectors (RingHash, Maglev, Rendezvous). */
import type { Selector, SelectorEndpoint } from '../../src/selectors/selector.js';

/** A mutable endpoint, so tests can set `inflight`. */
export interface TestEndpoint extends SelectorEndpoint {
  id: string;
  weight: number;
  inflight: number;
  latency: number;
}

export function ep(id: string, weight = 1, inflight = 0): TestEndpoint {
  return { id, weight, inflight, latency: 0 };
}

/** `n` loopback ids: 127.0.0.1:8080, 127.0.0.2:8080, … */
export function loopbackIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `127.0.${i >> 8}.${(i & 255) + 1}:8080`);
}

export function endpointsOf(ids: readonly string[], weight = 1): TestEndpoint[] {
  return ids.map((id) => ep(id, weight));
}

export function keys(n: number, prefix = 'key-'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}

/** The endpoint id each key maps to. */
export function mapping(selector: Selector, keyList: readonly string[]): (string | undefined)[] {
  return keyList.map((key) => selector.pick({ key })?.id);
}

/** Picks per id over `keyList`. */
export function counts(selector: Selector, keyList: readonly string[]): Map<string, number> {
  const result = new Map<string, number>();
  for (const key of keyList) {
    const id = selector.pick({ key })?.id;
    if (id !== undefined) result.set(id, (result.get(id) ?? 0) + 1);
  }
  return result;
}

/** A small seeded generator (mulberry32), for reproducible shuffles. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const random = seeded(seed);
  const copy = items.slice();
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/**
 * The key's endpoints in its preference order, found by excluding each choice in turn.
 */
export function preference(selector: Selector, key: string, n: number): string[] {
  const exclude = new Set<string>();
  const order: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = selector.pick({ key, exclude })?.id;
    if (id === undefined) break;
    order.push(id);
    exclude.add(id);
  }
  return order;
}

/**
 * Two ids whose MurmurHash3 (seed 0) collide: 0xd0fa6b93. The second is the smaller in
 * code point order.
 */
export const COLLIDING_IDS = ['127.0.82.32:8000', '127.0.214.46:8000'] as const;
