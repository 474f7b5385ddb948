/**
 * What a selector may read of an endpoint. The pool's endpoints satisfy it; so does any
 * plain object with these fields.
 */
export interface SelectorEndpoint {
  /** Stable identity: the same endpoint keeps the same id across updates. */
  readonly id: string;
  /** Relative capacity, finite and > 0. */
  readonly weight: number;
  /** Requests in progress on this endpoint. */
  readonly inflight: number;
  /** Smoothed latency in milliseconds; 0 when unknown. */
  readonly latency: number;
}

/** Per-pick input. Reuse one object across picks on the hot path when you can. */
export interface PickContext<E extends SelectorEndpoint = SelectorEndpoint> {
  /** Hash key for hashing selectors (client IP, user id, …); ignored by the others. */
  key?: string;
  /** Ids not to pick, typically the endpoints a request already tried. */
  exclude?: ReadonlySet<string>;
  /** @internal Phantom marker tying the context to the endpoint type. */
  readonly __endpoint?: E;
}

/**
 * A load-balancing strategy. It does no I/O and starts no timer; given the same calls and
 * the same `random` it makes the same choices.
 *
 * @example
 * ```ts
 * const selector = new RoundRobin();
 * selector.update(endpoints);
 * const endpoint = selector.pick();
 * ```
 */
export interface Selector<E extends SelectorEndpoint = SelectorEndpoint> {
  /**
   * The eligible set changed. Selectors may precompute here (tables, rings, alias tables).
   * @throws TypeError or RangeError for a bad endpoint (weight ≤ 0, NaN or infinite; a
   *   duplicate or empty id), naming the field and quoting the value.
   */
  update(endpoints: readonly E[]): void;
  /**
   * Chooses an endpoint: the hot path. Returns `undefined` only when no endpoint is
   * eligible (the set is empty, or every endpoint is excluded).
   */
  pick(context?: PickContext<E>): E | undefined;
}

/** A source of uniform numbers in [0, 1), like `Math.random`. */
export type RandomSource = () => number;
