import { EventEmitter } from '../../src/events.js';
import type {
  EndpointState,
  Lease,
  MembershipChangeEvent,
  PoolEndpoint,
  PoolLike,
  StateChangeEvent,
} from '../../src/pool/types.js';

type MutableEndpoint = { -readonly [K in keyof PoolEndpoint]: PoolEndpoint[K] };

/** A minimal PoolLike for unit tests: records every setHealth call. */
export class FakePool implements PoolLike {
  readonly #membership = new EventEmitter<MembershipChangeEvent>();
  readonly #state = new EventEmitter<StateChangeEvent>();
  readonly calls: Array<{ id: string; healthy: boolean; reason: string | undefined }> = [];
  endpoints: PoolEndpoint[] = [];

  constructor(urls: readonly string[] = []) {
    for (const url of urls) this.endpoints.push(FakePool.endpoint(url));
  }

  static endpoint(url: string): PoolEndpoint {
    const parsedUrl = new URL(url);
    const e: MutableEndpoint = {
      id: url,
      url,
      parsedUrl,
      weight: 1,
      configuredWeight: 1,
      priority: 0,
      metadata: {},
      state: 'healthy',
      inflight: 0,
      latency: 0,
    };
    return e;
  }

  get(id: string): PoolEndpoint {
    const e = this.endpoints.find((x) => x.id === id);
    if (!e) throw new Error(`no endpoint ${id}`);
    return e;
  }

  add(url: string): PoolEndpoint {
    const e = FakePool.endpoint(url);
    this.endpoints = [...this.endpoints, e];
    this.#membership.emit({ added: [e], removed: [] });
    return e;
  }

  remove(id: string): void {
    const e = this.get(id);
    this.endpoints = this.endpoints.filter((x) => x !== e);
    this.#membership.emit({ added: [], removed: [e] });
  }

  setState(id: string, to: EndpointState, reason = 'admin'): void {
    const e = this.get(id) as MutableEndpoint;
    const from = e.state;
    if (from === to) return;
    e.state = to;
    this.#state.emit({ endpoint: e, from, to, reason });
  }

  /** Never closed; leases are not what the health monitor asks for. */
  readonly closed = false;

  acquire(): Lease {
    throw new Error('FakePool hands out no leases');
  }

  tryAcquire(): Lease | undefined {
    return undefined;
  }

  onMembershipChange = this.#membership.subscribe;
  onStateChange = this.#state.subscribe;

  setHealth(id: string, healthy: boolean, reason?: string): void {
    this.calls.push({ id, healthy, reason });
    const e = this.get(id);
    if (e.state === 'draining') return;
    this.setState(id, healthy ? 'healthy' : 'unhealthy', reason);
  }
}

/** Polls `predicate` every 5 ms until it holds; fails after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Timers that count how many are alive at once, around the real ones. */
export function countingTimers() {
  const live = new Set<unknown>();
  const stats = {
    created: 0,
    maxLive: 0,
    get live() {
      return live.size;
    },
  };
  return {
    stats,
    timers: {
      setTimeout(callback: () => void, ms: number): unknown {
        const handle = setTimeout(() => {
          live.delete(handle);
          callback();
        }, ms);
        live.add(handle);
        stats.created++;
        stats.maxLive = Math.max(stats.maxLive, live.size);
        return handle;
      },
      clearTimeout(handle: unknown): void {
        live.delete(handle);
        clearTimeout(handle as ReturnType<typeof setTimeout>);
      },
    },
  };
}
