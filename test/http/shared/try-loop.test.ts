import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { isUpstreamUnavailableError } from '../../../src/errors.js';
import { RetryPolicy } from '../../../src/http/shared/retry-policy.js';
import {
  CALLER_FAULT,
  DISCARDED,
  EXHAUSTED,
  RETRYING,
  TryLoop,
  type TryTarget,
} from '../../../src/http/shared/try-loop.js';
import type {
  AcquireOptions,
  Lease,
  PoolEndpoint,
  ReleaseOutcome,
} from '../../../src/pool/types.js';

type Controller = Dispatcher.DispatchController;

interface FakeLease extends Lease {
  released: ReleaseOutcome | undefined;
}

function lease(id: string, url = `http://${id}`): FakeLease {
  const l: FakeLease = {
    endpoint: { id, url, parsedUrl: new URL(url) } as PoolEndpoint,
    startedAt: 0,
    released: undefined,
    elapsedMs: () => 7,
    release(outcome?: ReleaseOutcome) {
      l.released ??= outcome ?? { ok: true };
    },
  };
  return l;
}

/** A target over endpoints a, b, c handing out leases in order, recording what it was asked. */
function target(options: { closed?: boolean; unsupported?: string[]; sendThrows?: Error } = {}) {
  const ids = ['a', 'b', 'c'];
  const leases: FakeLease[] = [];
  const asked: (AcquireOptions | undefined)[] = [];
  const sent: string[] = [];
  const pick = (o?: AcquireOptions) => {
    asked.push(o);
    const id = o?.prefer ?? ids.find((x) => !o?.exclude?.has(x));
    if (id === undefined) return undefined;
    const l = lease(id);
    leases.push(l);
    return l;
  };
  const t: TryTarget = {
    pool: {
      acquire: (o?: AcquireOptions) => {
        const l = pick(o);
        if (l === undefined) throw new Error('none');
        return l;
      },
      tryAcquire: pick,
    },
    policy: new RetryPolicy({ attempts: 3, budget: false }),
    now: () => 0,
    closed: options.closed ?? false,
    unsupported: new Set(options.unsupported),
    send(endpoint) {
      if (options.sendThrows) throw options.sendThrows;
      sent.push(endpoint.id);
    },
  };
  return { t, leases, asked, sent };
}

function owner() {
  return {
    safeToRepeat: true,
    replayable: true,
    retries: 0,
    reasons: [] as string[],
    retryNow() {
      this.retries++;
    },
    retrying(_failed: PoolEndpoint, _attempt: number, reason: string) {
      this.reasons.push(reason);
    },
  };
}

function controller(): Controller & { reasons: unknown[] } {
  const reasons: unknown[] = [];
  return { reasons, abort: (r: unknown) => reasons.push(r) } as unknown as Controller & {
    reasons: unknown[];
  };
}

const handler = (errors: Error[]) =>
  ({
    onResponseError: (_c: unknown, e: Error) => errors.push(e),
  }) as unknown as Dispatcher.DispatchHandler;

const tick = () => new Promise((r) => process.nextTick(r));

describe('TryLoop', () => {
  it('delivers a response: latency and status recorded, the lease released with them', () => {
    const { t, leases, sent } = target();
    const loop = new TryLoop(t, owner());
    expect(loop.first()).toBeUndefined();
    loop.send({ path: '/', method: 'GET' }, '/', handler([]));
    expect(sent).toEqual(['a']);
    loop.started(controller());
    expect(loop.retriesResponse(controller(), 200, {})).toBe(false);
    loop.delivered();
    expect(leases[0]!.released).toEqual({ ok: true, latencyMs: 7 });
    expect(loop.attempts).toBe(1);
  });

  it('discards a retried status and schedules the next try on another endpoint', async () => {
    const { t, leases, asked } = target();
    const o = owner();
    const loop = new TryLoop(t, o);
    loop.key = 'k';
    loop.first();
    loop.send({ path: '/', method: 'GET' }, '/', handler([]));
    const c = controller();
    loop.started(c);
    expect(loop.retriesResponse(c, 503, { 'retry-after': '5' })).toBe(true);
    expect(c.reasons).toEqual([DISCARDED]);
    expect(leases[0]!.released).toMatchObject({ ok: false, retryAfterMs: 5000 });
    expect(loop.lease).toBe(leases[1]);
    expect(asked[1]).toEqual({ key: 'k', exclude: new Set(['a']), retry: true });
    expect(o.reasons).toEqual(['status 503']);
    await tick();
    expect(o.retries).toBe(1);
  });

  it('a refusal of the request is the caller’s fault: no failure, no retry', () => {
    const { t, leases } = target();
    const loop = new TryLoop(t, owner());
    loop.first();
    loop.send({ path: '/', method: 'GET' }, '/', handler([]));
    const refusal = Object.assign(new Error('invalid header'), { code: 'UND_ERR_INVALID_ARG' });
    expect(loop.failed(refusal, true)).toBe(CALLER_FAULT);
    expect(loop.error).toBe(refusal);
    expect(leases[0]!.released).toEqual({ ok: true, skipLatency: true });
    expect(leases).toHaveLength(1);
  });

  it('a try on an endpoint it cannot speak to fails as a connection failure and moves on', () => {
    const { t, leases, sent } = target({ unsupported: ['a'] });
    // A pool that ignores `exclude` hands out `a` anyway.
    t.pool.acquire = () => {
      const l = lease('a', 'ftp://a:21');
      leases.push(l);
      return l;
    };
    const errors: Error[] = [];
    const loop = new TryLoop(t, owner());
    loop.first();
    loop.send({ path: '/', method: 'POST' }, '/', handler(errors));
    expect(sent).toEqual([]);
    expect(errors[0]?.message).toMatch(/cannot send requests to endpoint "a"/);
    // Never sent: retried whatever the method.
    expect(loop.failed(errors[0]!, true)).toBe(RETRYING);
    expect(leases[0]!.released?.ok).toBe(false);
    expect(loop.lease?.endpoint.id).toBe('b');
  });

  it('gives up when the target is closing, with a coded error', () => {
    const { t, leases } = target({ closed: true });
    const loop = new TryLoop(t, owner());
    loop.first();
    loop.send({ path: '/', method: 'GET' }, '/', handler([]));
    loop.started(controller());
    const reset = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    expect(loop.failed(reset, true)).toBe(EXHAUSTED);
    expect(isUpstreamUnavailableError(loop.error)).toBe(true);
    expect(leases[0]!.released).toEqual({ ok: false, error: reset });
  });

  it('passes a selector’s error through as is, and abandons without blaming', () => {
    const { t } = target();
    const bug = new Error('selector bug');
    t.pool.acquire = () => {
      throw bug;
    };
    expect(new TryLoop(t, owner()).first()).toBe(bug);
    const ok = target();
    const loop = new TryLoop(ok.t, owner());
    loop.first();
    const c = controller();
    loop.started(c);
    loop.abandon(DISCARDED);
    expect(c.reasons).toEqual([DISCARDED]);
    expect(ok.leases[0]!.released).toEqual({ ok: true, skipLatency: true });
  });
});
