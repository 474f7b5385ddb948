/**
 * Small sampling primitives shared by the random-driven selectors.
 * @internal
 * @module
 */

/**
 * How many rejection-sampling draws a selector makes when `exclude` is set before it falls
 * back to an exact scan. With half the endpoints excluded, 8 draws all miss 0.4 % of the
 * time; the scan then keeps the pick exact and bounded.
 * @internal
 */
export const REJECTION_TRIES = 8;

/**
 * `floor(r × n)` clamped to `[0, n)`, so a `random` that returns 1 (or garbage) still
 * yields a valid index. `n` must be ≥ 1.
 * @internal
 */
export function randomIndex(r: number, n: number): number {
  // | 0 keeps the result a small integer (NaN becomes 0); the clamp catches the rest.
  const i = (r * n) | 0;
  return i < 0 ? 0 : i < n ? i : n - 1;
}
