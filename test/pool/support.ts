import type { PoolOptions } from '../../src/pool/options.js';
import { Pool } from '../../src/pool/pool.js';
import type { PoolEndpoint, StateChangeEvent } from '../../src/pool/types.js';
import type { PickContext, Selector } from '../../src/selectors/selector.js';

/** A manual clock for the pool's `now` option. */
export class FakeClock {
  t = 0;
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/**
 * A deterministic selector that remembers what the pool gave it: round robin over the
 * eligible set in the order given, skipping excluded ids.
 */
export class ListSelector implements Selector<PoolEndpoint> {
  endpoints: readonly PoolEndpoint[] = [];
  updates = 0;
  #next = 0;

  update(endpoints: readonly PoolEndpoint[]): void {
    this.endpoints = endpoints;
    this.updates++;
  }

  pick(context?: PickContext<PoolEndpoint>): PoolEndpoint | undefined {
    const n = this.endpoints.length;
    for (let i = 0; i < n; i++) {
      const e = this.endpoints[(this.#next + i) % n]!;
      if (context?.exclude?.has(e.id)) continue;
      this.#next = (this.#next + i + 1) % n;
      return e;
    }
    return undefined;
  }

  /** Ids of the eligible set, sorted. */
  get ids(): string[] {
    return this.endpoints.map((e) => e.id).sort();
  }
}

/** A pool on a fake clock with a ListSelector; endpoints `http://127.0.0.1:900N` by letter. */
export function makePool(options: PoolOptions = {}): {
  pool: Pool;
  clock: FakeClock;
  selector: ListSelector;
  events: StateChangeEvent[];
} {
  const clock = new FakeClock();
  const selector = new ListSelector();
  const pool = new Pool({ now: clock.now, selector, ...options });
  const events: StateChangeEvent[] = [];
  pool.onStateChange((e) => events.push(e));
  return { pool, clock, selector, events };
}

/** `n` loopback endpoint URLs, `http://127.0.0.1:9001` … */
export function urls(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `http://127.0.0.1:${9001 + i}`);
}

/** Acquires `id` (excluding every other endpoint) and releases it with `ok`. */
export function call(
  pool: Pool,
  id: string,
  ok: boolean,
  extra: { retryAfterMs?: number } = {},
): void {
  const lease = acquireOn(pool, id);
  lease.release({ ok, ...extra });
}

/** Acquires exactly `id`, excluding every other endpoint. */
export function acquireOn(pool: Pool, id: string) {
  const exclude = new Set(pool.endpoints.map((e) => e.id).filter((x) => x !== id));
  const lease = pool.acquire({ exclude });
  if (lease.endpoint.id !== id) throw new Error(`expected ${id}, got ${lease.endpoint.id}`);
  return lease;
}

/** `from→to:reason` strings of events, for compact assertions. */
export function describeEvents(events: readonly StateChangeEvent[]): string[] {
  return events.map((e) => `${e.endpoint.id} ${e.from ?? '∅'}→${e.to ?? '∅'} ${e.reason}`);
}
