/**
 * The default clock of the pool and the health monitor, in milliseconds: `performance.now`
 * where the runtime has it (monotonic: immune to the wall clock being set), else
 * `Date.now`. Looked up on `globalThis`, so the core needs no DOM or Node types.
 * @internal
 */
export function defaultClock(): () => number {
  const performance = (globalThis as { performance?: { now?: () => number } }).performance;
  return performance !== undefined && typeof performance.now === 'function'
    ? performance.now.bind(performance)
    : Date.now;
}
