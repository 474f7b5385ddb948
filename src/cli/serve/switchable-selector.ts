import type { PickContext, PoolEndpoint, Selector } from '../../index.js';

/**
 * A selector that forwards to another one which can be replaced while the pool runs. A
 * `Pool` takes its selector at construction only; this lets a reload change the strategy
 * in place, so endpoints keep their state, counters and in-flight requests. The new
 * selector is given the current eligible set before it answers its first pick. The cost
 * is one more (monomorphic) call per pick.
 * @internal
 */
export class SwitchableSelector implements Selector<PoolEndpoint> {
  #inner: Selector<PoolEndpoint>;
  #eligible: readonly PoolEndpoint[] = [];

  /** @param inner - the selector to forward to until {@link SwitchableSelector.replace}. */
  constructor(inner: Selector<PoolEndpoint>) {
    this.#inner = inner;
  }

  /** The selector picks are forwarded to. */
  get current(): Selector<PoolEndpoint> {
    return this.#inner;
  }

  /** Remembers the eligible set and passes it on. */
  update(endpoints: readonly PoolEndpoint[]): void {
    // The pool hands over a fresh array on every rebuild: keeping it is safe.
    this.#eligible = endpoints;
    this.#inner.update(endpoints);
  }

  /** The current selector's pick. */
  pick(context?: PickContext<PoolEndpoint>): PoolEndpoint | undefined {
    return this.#inner.pick(context);
  }

  /** Replaces the selector; the new one sees the current eligible set first. */
  replace(next: Selector<PoolEndpoint>): void {
    next.update(this.#eligible);
    this.#inner = next;
  }
}
