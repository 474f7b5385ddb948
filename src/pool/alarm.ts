/** setTimeout's largest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type TimerHandle = ReturnType<typeof setTimeout>;

/**
 * One unref'd timer for the earliest of many deadlines: setting a later time than the one
 * armed keeps the armed one, so the pool holds a single timer however many endpoints are
 * ejected, and never keeps the process alive.
 * @internal
 */
export class Alarm {
  readonly #ring: () => void;
  readonly #now: () => number;
  #timer: TimerHandle | undefined;
  #at = Number.POSITIVE_INFINITY;
  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#at = Number.POSITIVE_INFINITY;
    this.#ring();
  };

  /**
   * @param ring - called when the alarm goes off (it is then unset).
   * @param now - the clock `at` is read on.
   */
  constructor(ring: () => void, now: () => number) {
    this.#ring = ring;
    this.#now = now;
  }

  /** Goes off at `at` (at least 1 ms from now) unless an earlier time is set; +∞ unsets it. */
  set(at: number): void {
    if (at === Number.POSITIVE_INFINITY) {
      this.clear();
      return;
    }
    if (this.#timer !== undefined && this.#at <= at) return;
    this.clear();
    const delay = Math.min(Math.max(at - this.#now(), 1), MAX_TIMER_MS);
    const timer = setTimeout(this.#fire, delay);
    (timer as { unref?: () => void }).unref?.();
    this.#timer = timer;
    this.#at = at;
  }

  /** Unsets the alarm. */
  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = Number.POSITIVE_INFINITY;
  }
}
