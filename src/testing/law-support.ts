/**
 * Shared pieces of the selector laws: the violation error, building selectors, keys, and
 * share checks. @internal
 */
import type { Selector, SelectorEndpoint } from '../selectors/selector.js';
import { quote } from '../validate.js';
import type { TestEndpoint } from './arbitraries.js';
import { seededRandom } from './seeded-random.js';

/** A selector factory as {@link checkSelectorLaws} takes it. */
export type SelectorFactory = (random: () => number) => Selector<SelectorEndpoint>;

/** A selector kind: which laws beyond the universal ones it keeps. */
export type SelectorKind = 'balanced' | 'weighted' | 'least-loaded' | 'consistent';

/** Resolved settings every law reads. @internal */
export interface LawSettings {
  readonly factory: SelectorFactory;
  readonly kind: SelectorKind;
  readonly maxEndpoints: number;
  readonly tolerance: number;
  readonly maxMovedShare: number;
  readonly maxLoadSpread: number;
}

/** Thrown inside a property when a law does not hold; fast-check reports it. @internal */
export class LawViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LawViolation';
  }
}

/** Builds a selector from `factory` with a random seeded by `seed`. @internal */
export function build(settings: LawSettings, seed: number): Selector<SelectorEndpoint> {
  return settings.factory(seededRandom(seed));
}

/** A key drawn from `random`, like a user id. @internal */
export function randomKey(random: () => number): string {
  return `user-${Math.floor(random() * 4_294_967_296).toString(36)}`;
}

/** `endpoints` with every id quoted, for messages. @internal */
export function listIds(endpoints: readonly SelectorEndpoint[]): string {
  return `[${endpoints.map((e) => quote(e.id)).join(', ')}]`;
}

/** Picks drawn by a statistical law: sized so that `tolerance` is six standard deviations. */
export const MAX_STATISTICAL_PICKS = 200_000;

/**
 * How many picks resolve shares to within `tolerance` (relative) at six standard
 * deviations of a uniform random choice, for the smallest share `pMin`. @internal
 */
export function picksFor(pMin: number, tolerance: number, floor: number): number {
  const needed = Math.ceil((36 * (1 - pMin)) / (tolerance * tolerance * pMin));
  return Math.min(MAX_STATISTICAL_PICKS, Math.max(floor, needed));
}

/**
 * Throws a {@link LawViolation} unless each endpoint's count is within `tolerance` of its
 * expected share `weight / Σweight` of `total` — or within six standard deviations of it,
 * when `total` is too small to resolve `tolerance`. @internal
 */
export function checkShares(
  what: string,
  endpoints: readonly TestEndpoint[],
  counts: ArrayLike<number>,
  total: number,
  tolerance: number,
): void {
  let sum = 0;
  for (const e of endpoints) sum += e.weight;
  let bad = false;
  const rows = endpoints.map((e, i) => {
    const p = e.weight / sum;
    const expected = total * p;
    const allowed = Math.max(tolerance * expected, 6 * Math.sqrt(total * p * (1 - p)));
    const count = counts[i] ?? 0;
    const off = Math.abs(count - expected) > allowed;
    bad ||= off;
    const share = ((100 * count) / total).toFixed(2);
    return `  ${off ? '✗' : ' '} ${quote(e.id)} weight ${e.weight}: expected ${(100 * p).toFixed(2)}%, got ${share}%`;
  });
  if (bad) {
    throw new LawViolation(
      `${what}: a share is off by more than ${tolerance} of its expected value over ${total} picks\n${rows.join('\n')}`,
    );
  }
}

/**
 * Plays the pool's part for load-aware selectors: a pick starts a request on the endpoint
 * (`inflight + 1`); past `capacity` requests, the oldest one ends. @internal
 */
export class FifoLoad {
  readonly #queue: TestEndpoint[] = [];
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  start(endpoint: TestEndpoint): void {
    endpoint.inflight++;
    this.#queue.push(endpoint);
    if (this.#queue.length > this.#capacity) this.#queue.shift()!.inflight--;
  }
}
