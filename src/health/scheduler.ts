/**
 * One timer for many deadlines: a binary min-heap of due times and a single timer armed
 * for the earliest. Monitoring 10 000 endpoints costs one timer, not 10 000.
 *
 * With a `slackMs`, the timer is aligned up to a multiple of it (as Linux `round_jiffies`
 * and browsers' timer alignment do): entries due close together share one wake-up, none
 * fires before its due time and none more than `slackMs` after. A wake-up costs tens of
 * microseconds on a virtual machine; 2 000 checks a second spread at random would otherwise
 * mean hundreds of wake-ups a second.
 * @internal
 */

/**
 * The timer functions the health monitor uses: `globalThis.setTimeout`/`clearTimeout` by
 * default. Inject your own to drive the monitor from a fake clock or to count timers.
 */
export interface TimerApi {
  /** Calls `callback` once after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a timer made by `setTimeout`. */
  clearTimeout(handle: unknown): void;
}

/** Longest delay a JavaScript timer takes without overflowing to 1 ms: 2³¹ − 1 ms (~24.8 days). */
export const MAX_TIMER_DELAY_MS = 2_147_483_647;

type GlobalTimers = {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
};

/** The runtime's timers, looked up on `globalThis` so the core needs no `node:` types. */
export const globalTimers: TimerApi = {
  setTimeout: (callback, ms) => (globalThis as unknown as GlobalTimers).setTimeout(callback, ms),
  clearTimeout: (handle) => (globalThis as unknown as GlobalTimers).clearTimeout(handle),
};

/** What the heap stores: the scheduler reads and writes these two fields. @internal */
export interface ScheduledEntry {
  /** When the entry falls due, on the scheduler's clock. */
  due: number;
  /** Position in the heap; −1 when not scheduled. */
  heapIndex: number;
}

/** @internal */
export class Scheduler<E extends ScheduledEntry> {
  readonly #heap: E[] = [];
  readonly #onDue: (entry: E) => void;
  readonly #timers: TimerApi;
  readonly #now: () => number;
  readonly #slack: number;
  #handle: unknown;
  #armed = false;
  /** The due time the armed timer was set for. */
  #armedFor = Number.POSITIVE_INFINITY;
  /** Reused between firings: entries popped in one firing. */
  readonly #batch: E[] = [];

  constructor(onDue: (entry: E) => void, timers: TimerApi, now: () => number, slackMs = 0) {
    this.#onDue = onDue;
    this.#timers = timers;
    this.#now = now;
    this.#slack = slackMs;
  }

  /** Entries scheduled. */
  get size(): number {
    return this.#heap.length;
  }

  /** Schedules `entry` at `due`, moving it when it is already scheduled. */
  schedule(entry: E, due: number): void {
    const heap = this.#heap;
    if (entry.heapIndex < 0) {
      entry.due = due;
      entry.heapIndex = heap.length;
      heap.push(entry);
      this.#up(entry.heapIndex);
    } else {
      const earlier = due < entry.due;
      entry.due = due;
      if (earlier) this.#up(entry.heapIndex);
      else this.#down(entry.heapIndex);
    }
    this.#arm();
  }

  /** Removes `entry` when scheduled. */
  unschedule(entry: E): void {
    const index = entry.heapIndex;
    if (index < 0) return;
    const heap = this.#heap;
    const last = heap.pop()!;
    entry.heapIndex = -1;
    if (last !== entry) {
      heap[index] = last;
      last.heapIndex = index;
      this.#down(index);
      this.#up(last.heapIndex);
    }
    // An earlier timer left armed only costs one empty wake-up; an empty heap needs none.
    if (heap.length === 0) this.#disarm();
  }

  /** Unschedules everything and clears the timer. */
  clear(): void {
    for (const entry of this.#heap) entry.heapIndex = -1;
    this.#heap.length = 0;
    this.#disarm();
  }

  #arm(): void {
    const top = this.#heap[0];
    if (top === undefined) {
      this.#disarm();
      return;
    }
    const slack = this.#slack;
    const target = slack > 0 ? Math.ceil(top.due / slack) * slack : top.due;
    if (this.#armed && target >= this.#armedFor) return;
    if (this.#armed) this.#timers.clearTimeout(this.#handle);
    const now = this.#now();
    const delay = Math.min(Math.max(Math.ceil(target - now), 0), MAX_TIMER_DELAY_MS);
    // A target beyond the longest timer: wake up at the longest and arm again from there.
    this.#armedFor = delay === MAX_TIMER_DELAY_MS ? now + delay : target;
    this.#armed = true;
    this.#handle = this.#timers.setTimeout(this.#fire, delay);
    // Never hold the process open for a health check (Node, Bun, Deno have unref).
    (this.#handle as { unref?: () => void } | undefined)?.unref?.();
  }

  #disarm(): void {
    if (!this.#armed) return;
    this.#timers.clearTimeout(this.#handle);
    this.#armed = false;
    this.#handle = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
  }

  readonly #fire = (): void => {
    // Timers run off a loop clock that can lag the real one by a fraction of a millisecond:
    // what the timer was armed for counts as due even if the clock reads a hair earlier.
    const now = Math.max(this.#now(), this.#armedFor);
    this.#armed = false;
    this.#handle = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const heap = this.#heap;
    const batch = this.#batch;
    // Pop first, then call back: a callback that reschedules its entry at `now` waits for
    // the next firing instead of looping here.
    while (heap.length > 0 && heap[0]!.due <= now) batch.push(this.#pop());
    try {
      for (let i = 0; i < batch.length; i++) this.#onDue(batch[i]!);
    } finally {
      batch.length = 0;
      this.#arm();
    }
  };

  #pop(): E {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    top.heapIndex = -1;
    if (last !== top) {
      heap[0] = last;
      last.heapIndex = 0;
      this.#down(0);
    }
    return top;
  }

  #up(index: number): void {
    const heap = this.#heap;
    const entry = heap[index]!;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (parent.due <= entry.due) break;
      heap[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    heap[index] = entry;
    entry.heapIndex = index;
  }

  #down(index: number): void {
    const heap = this.#heap;
    const length = heap.length;
    const entry = heap[index]!;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= length) break;
      const right = child + 1;
      if (right < length && heap[right]!.due < heap[child]!.due) child = right;
      const smaller = heap[child]!;
      if (smaller.due >= entry.due) break;
      heap[index] = smaller;
      smaller.heapIndex = index;
      index = child;
    }
    heap[index] = entry;
    entry.heapIndex = index;
  }
}
