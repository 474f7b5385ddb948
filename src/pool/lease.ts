import { checkNumber, quote } from '../validate.js';
import type { EndpointRecord } from './endpoint.js';
import type { Lease, PoolEndpoint, ReleaseOutcome } from './types.js';

/** What a lease reports back to: the pool's release path and its clock. @internal */
export interface LeaseOwner {
  release(record: EndpointRecord, startedAt: number, outcome: ReleaseOutcome | undefined): void;
  now(): number;
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

  /** When the lease was acquired, on the pool's clock. */
  get startedAt(): number {
    return this.#startedAt;
  }

  /** True once released. */
  get released(): boolean {
    return this.#released;
  }

  /** Milliseconds since acquire, on the pool's clock (one clock read). */
  elapsedMs(): number {
    return this.#owner.now() - this.#startedAt;
  }

  /**
   * Ends the call: in-flight goes down, the latency (the caller's `latencyMs`, or the time
   * since acquire) and the outcome are recorded. Only the first call counts; later ones do
   * nothing.
   * @param outcome - how the call ended. @default `{ ok: true }`
   * @throws TypeError or RangeError for a `latencyMs` that is not a finite number ≥ 0,
   *   before anything is recorded: the lease stays unreleased.
   */
  release(outcome?: ReleaseOutcome): void {
    if (this.#released) return;
    if (outcome !== undefined) {
      const latencyMs = outcome.latencyMs;
      // A typeof and two comparisons on the hot path (NaN fails `>= 0`); the message is
      // only built for a bad value.
      if (
        latencyMs !== undefined &&
        !(typeof latencyMs === 'number' && latencyMs >= 0 && latencyMs < Number.POSITIVE_INFINITY)
      ) {
        checkNumber('latencyMs', latencyMs, { min: 0 }, `endpoint ${quote(this.#record.id)}`);
      }
    }
    this.#released = true;
    this.#owner.release(this.#record, this.#startedAt, outcome);
  }
}
