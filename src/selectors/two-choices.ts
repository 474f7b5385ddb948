import { REJECTION_TRIES, randomIndex } from './sampling.js';
import type { SelectorEndpoint } from './selector.js';

/**
 * Draws two distinct endpoints uniformly at random, skipping excluded ones: the candidate
 * sampling shared by {@link PowerOfTwoChoices} and {@link PeakEwma}. The result is left in
 * `first` and `second` (indices into the array given) so a draw allocates nothing.
 *
 * Without `exclude`: `i = floor(r₁ n)`, `j = floor(r₂ (n − 1))`, `j += 1` when `j ≥ i` —
 * two random numbers, uniform over ordered pairs of distinct indices.
 *
 * With `exclude`: rejection sampling (up to 8 draws for each candidate), then an exact
 * fallback that lists the eligible indices into a scratch array kept on the instance and
 * draws the pair from that list. Each way yields a uniform ordered pair of distinct
 * eligible indices, so their mixture does too.
 * @internal
 */
export class TwoChoiceSampler {
  /** Index of the first candidate after {@link TwoChoiceSampler.draw} returned ≥ 1. */
  first = 0;
  /** Index of the second candidate after {@link TwoChoiceSampler.draw} returned 2. */
  second = 0;
  readonly #random: () => number;
  #scratch = new Int32Array(0);

  /** @param random - the selector's source of uniform numbers in [0, 1) */
  constructor(random: () => number) {
    this.#random = random;
  }

  /** Makes room for `n` endpoints in the exact fallback; call from `update()`. */
  reserve(n: number): void {
    if (this.#scratch.length < n) this.#scratch = new Int32Array(n);
  }

  /**
   * Draws the candidates.
   * @returns how many were drawn: 0 when none is eligible, 1 when exactly one is (in
   *   `first`), else 2 (`first` and `second`, distinct).
   */
  draw(endpoints: readonly SelectorEndpoint[], exclude: ReadonlySet<string> | undefined): number {
    const n = endpoints.length;
    const random = this.#random;
    if (exclude === undefined || exclude.size === 0) {
      if (n < 2) {
        this.first = 0;
        return n;
      }
      const i = randomIndex(random(), n);
      const j = randomIndex(random(), n - 1);
      this.first = i;
      this.second = j >= i ? j + 1 : j;
      return 2;
    }
    return this.#drawExcluding(endpoints, exclude);
  }

  /** {@link TwoChoiceSampler.draw} with a non-empty `exclude`, kept apart so draw() stays small. */
  #drawExcluding(endpoints: readonly SelectorEndpoint[], exclude: ReadonlySet<string>): number {
    const n = endpoints.length;
    const random = this.#random;
    if (n >= 2) {
      for (let attempt = 0; attempt < REJECTION_TRIES; attempt++) {
        const i = randomIndex(random(), n);
        if (exclude.has(endpoints[i]!.id)) continue;
        for (let again = 0; again < REJECTION_TRIES; again++) {
          let j = randomIndex(random(), n - 1);
          if (j >= i) j++;
          if (!exclude.has(endpoints[j]!.id)) {
            this.first = i;
            this.second = j;
            return 2;
          }
        }
        break;
      }
    }
    // Exact fallback. The scratch array is sized in reserve(); grow it if a caller forgot.
    if (this.#scratch.length < n) this.#scratch = new Int32Array(n);
    const eligible = this.#scratch;
    let m = 0;
    for (let i = 0; i < n; i++) if (!exclude.has(endpoints[i]!.id)) eligible[m++] = i;
    if (m === 0) return 0;
    if (m === 1) {
      this.first = eligible[0]!;
      return 1;
    }
    const a = randomIndex(random(), m);
    const b = randomIndex(random(), m - 1);
    this.first = eligible[a]!;
    this.second = eligible[b >= a ? b + 1 : b]!;
    return 2;
  }
}
