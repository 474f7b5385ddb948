import { DiscoveryError } from '../errors.js';
import { type Disposable, EventEmitter } from '../events.js';
import type { EndpointInput, RemoveOptions } from '../pool/index.js';
import { checkBoolean, checkOptions, quote } from '../validate.js';

/**
 * What a discovery source feeds: a `Pool` satisfies it. Only `setEndpoints` is
 * called; a target whose `closed` turns true is detached at the next change.
 */
export interface DiscoveryTarget {
  /** Replaces the membership, diffing by id (see `Pool.setEndpoints`). */
  setEndpoints(endpoints: readonly EndpointInput[], options?: RemoveOptions): void;
  /** True once the target is closed. */
  readonly closed?: boolean;
}

/**
 * A source of membership: DNS ({@link DnsDiscovery}), a watched file, the Kubernetes
 * EndpointSlice API, Consul's HTTP API. The contract:
 * - `attach(pool)` calls `pool.setEndpoints` at once when a good set is known, else at the
 *   first one, then on every change, and never when nothing changed; it returns a
 *   disposable that detaches (the pool keeps its endpoints). Several pools may attach.
 * - A failed lookup never empties the pools: they keep the last good set, and every
 *   `onError` listener hears the failure (a {@link DiscoveryError} for the sources here).
 * - `close()` stops lookups (cancelling those in flight), detaches every pool, and
 *   resolves once nothing of the source runs; it is idempotent. Timers do not keep the
 *   process alive.
 *
 * {@link Membership} does the attaching, diffing and error fan-out, so a new source is
 * mostly its lookup: see `examples/discovery-file.ts` and docs/guides/discovery.md.
 *
 * @example
 * ```ts
 * const discovery: Discovery = new DnsDiscovery({ name: '_http._tcp.api.internal' });
 * using subscription = discovery.attach(pool);
 * discovery.onError((error) => console.warn(error.message));
 * ```
 */
export interface Discovery {
  /** Feeds `pool` from now on; dispose the result to stop. */
  attach(pool: DiscoveryTarget): Disposable;
  /** Hears every failed lookup; returns a disposable that unsubscribes. */
  onError(listener: (error: DiscoveryError) => void): Disposable;
  /** Stops the source: idempotent, resolves when nothing of it runs. */
  close(): Promise<void>;
  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@link Membership}. */
export interface MembershipOptions {
  /**
   * Endpoints that leave the discovered set drain (finish their in-flight work, take no
   * new requests) rather than leave at once: `setEndpoints(set, { drain })`.
   * @default {@link DEFAULT_DISCOVERY_DRAIN} (true)
   */
  readonly drain?: boolean;
}

/** Endpoints that leave a discovered set drain by default. */
export const DEFAULT_DISCOVERY_DRAIN = true;

/** A text that is equal for two sets exactly when `setEndpoints` would not change a pool. */
function setKey(endpoints: readonly EndpointInput[]): string {
  return JSON.stringify(
    endpoints
      .map((e) =>
        typeof e === 'string'
          ? [e, e, 1, 0, {}]
          : [e.id ?? e.url, e.url, e.weight ?? 1, e.priority ?? 0, e.metadata ?? {}],
      )
      .sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0)),
  );
}

/**
 * The shared half of every discovery source: the pools attached, the last good set, and
 * the error listeners. A source calls {@link Membership.publish} with each set it finds
 * and {@link Membership.fail} with each failure; `Membership` applies a set only when it
 * differs from the last, to every pool, and hands a pool the last good set when it
 * attaches.
 *
 * @example
 * ```ts
 * class StaticDiscovery implements Discovery {
 *   readonly #members = new Membership();
 *   constructor(urls: string[]) { this.#members.publish(urls); }
 *   attach(pool: DiscoveryTarget) { return this.#members.attach(pool); }
 *   onError(listener: (error: DiscoveryError) => void) { return this.#members.onError(listener); }
 *   async close() { this.#members.close(); }
 *   [Symbol.asyncDispose]() { return this.close(); }
 * }
 * ```
 */
export class Membership {
  readonly #drain: boolean;
  readonly #errors = new EventEmitter<DiscoveryError>();
  #pools: DiscoveryTarget[] = [];
  #current: readonly EndpointInput[] | undefined;
  #key: string | undefined;
  #closed = false;

  /**
   * @param options - see {@link MembershipOptions}
   * @throws TypeError for an unknown option or a `drain` that is not a boolean.
   */
  constructor(options?: MembershipOptions) {
    const o = checkOptions('Membership', options, ['drain']);
    this.#drain =
      o.drain === undefined
        ? DEFAULT_DISCOVERY_DRAIN
        : checkBoolean('drain', o.drain, 'Membership');
  }

  /** The last good set, or undefined before the first. */
  get endpoints(): readonly EndpointInput[] | undefined {
    return this.#current;
  }

  /** Pools attached now. */
  get size(): number {
    return this.#pools.length;
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Feeds `pool`: the last good set at once when there is one, then every change.
   * @returns a disposable that detaches `pool` (it keeps its endpoints).
   * @throws TypeError when `pool` has no `setEndpoints` method, or after `close()`.
   */
  attach(pool: DiscoveryTarget): Disposable {
    if (this.#closed) throw new TypeError('attach() after close(): the discovery is closed');
    if (
      typeof pool !== 'object' ||
      pool === null ||
      typeof (pool as { setEndpoints?: unknown }).setEndpoints !== 'function'
    ) {
      throw new TypeError(`attach() expects a pool (with setEndpoints), got ${quote(pool)}`);
    }
    if (!this.#pools.includes(pool)) {
      this.#pools = [...this.#pools, pool];
      if (this.#current !== undefined) this.#apply(pool, this.#current);
    }
    let active = true;
    const dispose = () => {
      if (!active) return;
      active = false;
      this.#pools = this.#pools.filter((p) => p !== pool);
    };
    return { dispose, [Symbol.dispose]: dispose };
  }

  /** Subscribes to failures; see {@link Discovery.onError}. */
  onError(listener: (error: DiscoveryError) => void): Disposable {
    return this.#errors.subscribe(listener);
  }

  /**
   * Offers a newly found set. When it differs from the last one (by id, url, weight,
   * priority and metadata, in any order) every attached pool gets it; else nothing happens.
   * @returns true when the set changed.
   */
  publish(endpoints: readonly EndpointInput[]): boolean {
    if (this.#closed) return false;
    const key = setKey(endpoints);
    if (key === this.#key) return false;
    this.#key = key;
    this.#current = Object.freeze([...endpoints]);
    for (const pool of this.#pools) this.#apply(pool, this.#current);
    return true;
  }

  /** Reports a failure to every `onError` listener; the pools keep their set. */
  fail(error: DiscoveryError): void {
    if (!this.#closed) this.#errors.emit(error);
  }

  /** Detaches every pool and drops the listeners. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#pools = [];
    this.#errors.clear();
  }

  #apply(pool: DiscoveryTarget, endpoints: readonly EndpointInput[]): void {
    if (pool.closed === true) {
      this.#pools = this.#pools.filter((p) => p !== pool);
      return;
    }
    try {
      pool.setEndpoints(endpoints, { drain: this.#drain });
    } catch (error) {
      this.fail(
        new DiscoveryError(
          'apply',
          `setEndpoints refused the discovered set: ${(error as Error).message}`,
          {
            cause: error,
          },
        ),
      );
    }
  }
}
