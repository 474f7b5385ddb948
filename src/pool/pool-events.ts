import { type Disposable, EventEmitter } from '../events.js';
import type { EndpointRecord } from './endpoint.js';
import type { EndpointState, MembershipChangeEvent, StateChangeEvent } from './types.js';

/**
 * The pool's two event streams and their queue. The pool queues changes while it updates
 * and calls `flush()` once it is consistent again (eligible set rebuilt), so listeners
 * never see a half-applied change. State events of a change go out before its membership
 * event; a listener that changes the pool queues behind what is being delivered, so every
 * listener sees every event, in order.
 * @internal
 */
export class PoolEvents {
  readonly #states = new EventEmitter<StateChangeEvent>();
  readonly #memberships = new EventEmitter<MembershipChangeEvent>();
  #pendingStates: StateChangeEvent[] = [];
  #added: EndpointRecord[] = [];
  #removed: EndpointRecord[] = [];
  #pendingMemberships: MembershipChangeEvent[] = [];
  #flushing = false;

  onStateChange(listener: (event: StateChangeEvent) => void): Disposable {
    return this.#states.subscribe(listener);
  }

  onMembershipChange(listener: (event: MembershipChangeEvent) => void): Disposable {
    return this.#memberships.subscribe(listener);
  }

  /** True when a state event or a removal waits for `flush()`. */
  get pending(): boolean {
    return this.#pendingStates.length > 0 || this.#removed.length > 0;
  }

  /** Queues a change of `record`'s state from `from` to its current `state`. */
  changed(record: EndpointRecord, from: EndpointState | undefined, reason: string): void {
    if (!this.#states.hasListeners) return;
    this.#pendingStates.push({ endpoint: record, from, to: record.state, reason });
  }

  /** Queues a join: a state event (`added`) and a place in the next membership event. */
  added(record: EndpointRecord): void {
    this.changed(record, undefined, 'added');
    this.#added.push(record);
  }

  /** Queues a departure: a state event (to `undefined`), a place in the next membership event. */
  removed(record: EndpointRecord, reason: string): void {
    if (this.#states.hasListeners) {
      this.#pendingStates.push({ endpoint: record, from: record.state, to: undefined, reason });
    }
    this.#removed.push(record);
  }

  /** Delivers what is queued: the state events, then one membership event for the change. */
  flush(): void {
    if (this.#added.length > 0 || this.#removed.length > 0) {
      const event: MembershipChangeEvent = { added: this.#added, removed: this.#removed };
      this.#added = [];
      this.#removed = [];
      // Queued behind the state events of the same change.
      if (this.#memberships.hasListeners) this.#pendingMemberships.push(event);
    }
    // A listener may change the pool; its events join the queue and go out in order.
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      let i = 0;
      let j = 0;
      while (i < this.#pendingStates.length || j < this.#pendingMemberships.length) {
        while (i < this.#pendingStates.length) this.#states.emit(this.#pendingStates[i++]!);
        if (j < this.#pendingMemberships.length) {
          this.#memberships.emit(this.#pendingMemberships[j++]!);
        }
      }
    } finally {
      this.#pendingStates = [];
      this.#pendingMemberships = [];
      this.#flushing = false;
    }
  }

  /** Drops every listener and everything queued (the pool closed). */
  clear(): void {
    this.#states.clear();
    this.#memberships.clear();
    this.#pendingStates = [];
    this.#added = [];
    this.#removed = [];
  }
}
