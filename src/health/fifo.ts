/**
 * A first-in first-out queue on an array with a moving head: `shift()` is O(1) (an array's
 * own `shift()` moves every element), and the consumed front is dropped once the queue
 * empties, or once it is over half the array and worth the copy.
 * @internal
 */
export class Fifo<T> {
  #items: T[] = [];
  #head = 0;

  /** Items waiting. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  /** The oldest item, taken out; `undefined` when empty. */
  shift(): T | undefined {
    const items = this.#items;
    if (this.#head === items.length) return undefined;
    const item = items[this.#head++]!;
    if (this.#head === items.length) {
      items.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > items.length) {
      items.splice(0, this.#head);
      this.#head = 0;
    }
    return item;
  }

  clear(): void {
    this.#items.length = 0;
    this.#head = 0;
  }
}
