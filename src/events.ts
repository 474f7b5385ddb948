/**
 * Typed events: a subscribe function that returns a disposable, the emitter kept private
 * (the shape cockatiel uses). Listeners run synchronously in subscription order; a
 * throwing listener does not stop the others and its error is reported asynchronously.
 */

/** Returned by every `onXxx()` subscription: call `dispose()` (or use `using`) to stop listening. */
export interface Disposable {
  /** Stops listening. Idempotent. */
  dispose(): void;
  /** Same as `dispose()`, for `using` declarations. */
  [Symbol.dispose](): void;
}

/** A subscribe function: `pool.onStateChange(listener)`. */
export type Subscribe<T> = (listener: (event: T) => void) => Disposable;

const disposeSymbol: typeof Symbol.dispose =
  (Symbol as { dispose?: typeof Symbol.dispose }).dispose ??
  (Symbol.for('Symbol.dispose') as typeof Symbol.dispose);

/** @internal A private emitter with a public `subscribe`. */
export class EventEmitter<T> {
  #listeners: Array<(event: T) => void> = [];

  /** True when at least one listener is subscribed (lets callers skip building events). */
  get hasListeners(): boolean {
    return this.#listeners.length > 0;
  }

  readonly subscribe: Subscribe<T> = (listener) => {
    if (typeof listener !== 'function') {
      throw new TypeError(`listener must be a function, got ${typeof listener}`);
    }
    // Copy-on-write so emit can iterate without copying.
    this.#listeners = [...this.#listeners, listener];
    let active = true;
    const dispose = (): void => {
      if (!active) return;
      active = false;
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
    return { dispose, [disposeSymbol]: dispose } as Disposable;
  };

  emit(event: T): void {
    const listeners = this.#listeners;
    for (let i = 0; i < listeners.length; i++) {
      try {
        listeners[i]!(event);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  clear(): void {
    this.#listeners = [];
  }
}
