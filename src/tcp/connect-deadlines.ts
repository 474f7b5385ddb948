/**
 * Connect timeouts for every attempt of one proxy, on one timer. Every attempt gets the
 * same timeout, so deadlines arrive in the order the attempts started: a FIFO queue and a
 * timer for its head replace a timer per attempt (an object, a bound function and a list
 * insertion per connection, on the hot path of short connections).
 * @internal
 */

import { performance } from 'node:perf_hooks';

/** What the queue calls when an attempt's deadline passed. */
export interface DeadlineOwner<T> {
  /** The deadline of the attempt on `subject` passed (it may have finished meanwhile). */
  connectTimedOut(subject: T): void;
}

/** When the timer fires, later deadlines this close are handled in the same run, ms. */
const COALESCE_MS = 5;
/** Compact the queue's arrays once this many handled entries lead them. */
const COMPACT_AT = 1_024;

/** @internal */
export class ConnectDeadlines<T> {
  readonly #ms: number;
  #owners: Array<DeadlineOwner<T> | undefined> = [];
  #subjects: Array<T | undefined> = [];
  #at: number[] = [];
  /** First entry not handled yet, as an index into the arrays. */
  #head = 0;
  /** Entries dropped from the front by compaction: slot = index + base. */
  #base = 0;
  /** Attempts still waiting: at 0 the timer is stopped, so an idle proxy runs none. */
  #waiting = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #fire = (): void => this.#run();

  constructor(ms: number) {
    this.#ms = ms;
  }

  /** Starts the deadline of an attempt; returns its slot, for {@link ConnectDeadlines.cancel}. */
  add(owner: DeadlineOwner<T>, subject: T): number {
    const at = performance.now() + this.#ms;
    this.#owners.push(owner);
    this.#subjects.push(subject);
    this.#at.push(at);
    this.#waiting++;
    if (this.#timer === undefined) this.#arm(at, 0);
    return this.#base + this.#owners.length - 1;
  }

  /** The attempt finished: forget it (so its sockets are not kept until the deadline). */
  cancel(slot: number): void {
    const index = slot - this.#base;
    if (index >= this.#head && index < this.#owners.length && this.#owners[index] !== undefined) {
      this.#owners[index] = undefined;
      this.#subjects[index] = undefined;
      if (--this.#waiting === 0) this.clear();
    }
  }

  /** Stops the timer and forgets every deadline. */
  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#base += this.#owners.length;
    this.#owners = [];
    this.#subjects = [];
    this.#at = [];
    this.#head = 0;
    this.#waiting = 0;
  }

  #arm(at: number, minimum: number): void {
    const delay = Math.max(minimum, Math.ceil(at - performance.now()), 1);
    this.#timer = setTimeout(this.#fire, delay);
    this.#timer.unref();
  }

  #run(): void {
    this.#timer = undefined;
    const now = performance.now();
    const owners = this.#owners;
    const subjects = this.#subjects;
    // Owners may add attempts (failover) while this runs: they join the end of the queue.
    while (this.#head < owners.length && this.#at[this.#head]! <= now) {
      const i = this.#head++;
      const owner = owners[i];
      if (owner === undefined) continue;
      const subject = subjects[i] as T;
      owners[i] = undefined;
      subjects[i] = undefined;
      this.#waiting--;
      owner.connectTimedOut(subject);
    }
    // Skip attempts that finished, so the timer is set for one still waiting.
    while (this.#head < owners.length && owners[this.#head] === undefined) this.#head++;
    if (this.#head >= COMPACT_AT && this.#head * 2 >= owners.length) {
      owners.splice(0, this.#head);
      subjects.splice(0, this.#head);
      this.#at.splice(0, this.#head);
      this.#base += this.#head;
      this.#head = 0;
    }
    if (this.#head < owners.length) this.#arm(this.#at[this.#head]!, COALESCE_MS);
    else if (this.#head > 0) this.clear();
  }
}
