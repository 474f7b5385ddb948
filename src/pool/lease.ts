import type { EndpointRecord } from './endpoint.js';
import type { Lease, PoolEndpoint, ReleaseOutcome } from './types.js';

/** What a lease reports back to: the pool's release path. @internal */
export interface LeaseOwner {
  release(record: EndpointRecord, startedAt: number, outcome: ReleaseOutcome | undefined): void;
}

/**
 * One claim on an endpoint. A class rather than an object literal with a closure, so an
 * acquire allocates one small object and nothing else.
 * @internal
 */
export class PoolLease implements Lease {
  readonly #owner: LeaseOwner;
  readonly #record: EndpointRecord;
  readonly #startedAt: number;
  #released = false;

  constructor(owner: LeaseOwner, record: EndpointRecord, startedAt: number) {
    this.#owner = owner;
    this.#record = record;
    this.#startedAt = startedAt;
  }

  /** The chosen endpoint. */
  get endpoint(): PoolEndpoint {
    return this.#record;
  }

  /** True once released. */
  get released(): boolean {
    return this.#released;
  }

  /**
   * Ends the call: in-flight goes down, latency since acquire and the outcome are recorded.
   * Only the first call counts; later ones do nothing.
   * @param outcome - how the call ended. @default `{ ok: true }`
   */
  release(outcome?: ReleaseOutcome): void {
    if (this.#released) return;
    this.#released = true;
    this.#owner.release(this.#record, this.#startedAt, outcome);
  }
}
