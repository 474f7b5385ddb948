import { describe, expect, it, onTestFinished } from 'vitest';
import { AbortedError, isTimeoutError } from '../../src/errors.js';
import {
  DEFAULT_HEALTH_CONCURRENCY,
  DEFAULT_HEALTH_INTERVAL_MS,
  DEFAULT_HEALTH_JITTER,
  DEFAULT_HEALTH_TIMEOUT_MS,
  DEFAULT_HEALTHY_THRESHOLD,
  DEFAULT_UNHEALTHY_THRESHOLD,
  HEALTH_CHECK_REASON,
  type HealthCheck,
  type HealthCheckEvent,
  HealthMonitor,
  type HealthMonitorOptions,
} from '../../src/index.js';
import type { PoolEndpoint } from '../../src/pool/types.js';
import { countingTimers, FakePool, waitFor } from './fake-pool.js';

function monitor(pool: FakePool, options: HealthMonitorOptions): HealthMonitor {
  const m = new HealthMonitor(pool, options);
  onTestFinished(() => m.stop());
  return m;
}

/** A check whose outcome per endpoint is set by the test. */
function switchable() {
  const failing = new Set<string>();
  const calls: string[] = [];
  const check: HealthCheck = async (endpoint) => {
    calls.push(endpoint.id);
    if (failing.has(endpoint.id)) throw new Error(`${endpoint.id} is down`);
  };
  return { check, failing, calls };
}

describe('HealthMonitor defaults', () => {
  it('follows HAProxy rise 2 / fall 3, a 5 s interval and a 2 s timeout', () => {
    expect(DEFAULT_HEALTHY_THRESHOLD).toBe(2);
    expect(DEFAULT_UNHEALTHY_THRESHOLD).toBe(3);
    expect(DEFAULT_HEALTH_INTERVAL_MS).toBe(5_000);
    expect(DEFAULT_HEALTH_TIMEOUT_MS).toBe(2_000);
    expect(DEFAULT_HEALTH_JITTER).toBe(0.1);
    expect(DEFAULT_HEALTH_CONCURRENCY).toBe(64);
  });
});

describe('HealthMonitor rise and fall (driven by checkNow)', () => {
  it('takes an endpoint out after exactly unhealthyThreshold failures and back after exactly healthyThreshold passes', async () => {
    const pool = new FakePool(['http://127.0.0.1:1', 'http://127.0.0.2:1']);
    const { check, failing } = switchable();
    const m = monitor(pool, { check, healthyThreshold: 2, unhealthyThreshold: 3 });
    const a = 'http://127.0.0.1:1';
    failing.add(a);
    await m.checkNow();
    await m.checkNow();
    expect(pool.calls).toEqual([]);
    await m.checkNow();
    expect(pool.calls).toEqual([{ id: a, healthy: false, reason: HEALTH_CHECK_REASON }]);
    expect(pool.get(a).state).toBe('unhealthy');
    await m.checkNow(); // still failing: no second call
    expect(pool.calls).toHaveLength(1);
    failing.delete(a);
    await m.checkNow();
    expect(pool.calls).toHaveLength(1);
    await m.checkNow();
    expect(pool.calls).toEqual([
      { id: a, healthy: false, reason: HEALTH_CHECK_REASON },
      { id: a, healthy: true, reason: HEALTH_CHECK_REASON },
    ]);
    expect(pool.get(a).state).toBe('healthy');
    expect(pool.get('http://127.0.0.2:1').state).toBe('healthy');
  });

  it('counts consecutive results only: a pass in between resets the failures', async () => {
    const pool = new FakePool(['http://127.0.0.1:1']);
    const { check, failing } = switchable();
    const m = monitor(pool, { check, unhealthyThreshold: 2, healthyThreshold: 2 });
    const a = 'http://127.0.0.1:1';
    for (const fail of [true, false, true, false, true]) {
      if (fail) failing.add(a);
      else failing.delete(a);
      await m.checkNow();
    }
    expect(pool.calls).toEqual([]);
    failing.add(a);
    await m.checkNow();
    expect(pool.calls.map((c) => c.healthy)).toEqual([false]);
    for (const fail of [false, true, false]) {
      if (fail) failing.add(a);
      else failing.delete(a);
      await m.checkNow();
    }
    expect(pool.calls.map((c) => c.healthy)).toEqual([false]);
    await m.checkNow();
    expect(pool.calls.map((c) => c.healthy)).toEqual([false, true]);
  });

  it('thresholds of 1 flip on every change', async () => {
    const pool = new FakePool(['http://127.0.0.1:1']);
    const { check, failing } = switchable();
    const m = monitor(pool, { check, unhealthyThreshold: 1, healthyThreshold: 1 });
    failing.add('http://127.0.0.1:1');
    await m.checkNow();
    failing.clear();
    await m.checkNow();
    expect(pool.calls.map((c) => c.healthy)).toEqual([false, true]);
  });

  it('starts an endpoint already unhealthy in the pool as unhealthy', async () => {
    const pool = new FakePool(['http://127.0.0.1:1']);
    pool.setState('http://127.0.0.1:1', 'unhealthy');
    const { check } = switchable();
    const m = monitor(pool, { check, healthyThreshold: 2 });
    await m.checkNow();
    expect(pool.calls).toEqual([]);
    await m.checkNow();
    expect(pool.calls.map((c) => c.healthy)).toEqual([true]);
  });

  it('resets its counters when someone else changes the health', async () => {
    const pool = new FakePool(['http://127.0.0.1:1']);
    const { check } = switchable();
    const m = monitor(pool, { check, healthyThreshold: 3 });
    await m.checkNow(); // attach
    pool.setState('http://127.0.0.1:1', 'unhealthy', 'admin');
    await m.checkNow();
    await m.checkNow();
    expect(pool.calls).toEqual([]);
    await m.checkNow();
    expect(pool.calls.map((c) => c.healthy)).toEqual([true]);
  });

  it('emits one onCheck event per check, after the pool was told', async () => {
    const pool = new FakePool(['http://127.0.0.1:1']);
    const { check, failing } = switchable();
    const m = monitor(pool, { check, unhealthyThreshold: 1 });
    const events: Array<HealthCheckEvent & { state: string }> = [];
    const sub = m.onCheck((e) => events.push({ ...e, state: e.endpoint.state }));
    await m.checkNow();
    failing.add('http://127.0.0.1:1');
    await m.checkNow();
    sub.dispose();
    await m.checkNow();
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ ok: true, state: 'healthy' });
    expect('error' in events[0]!).toBe(false);
    expect(events[1]).toMatchObject({ ok: false, state: 'unhealthy' });
    expect(String(events[1]!.error)).toMatch(/is down/);
    for (const e of events) expect(e.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('a check that throws synchronously or returns a non-promise still counts', async () => {
    const pool = new FakePool(['http://127.0.0.1:1']);
    const check = (() => {
      throw new Error('sync');
    }) as unknown as HealthCheck;
    const m = monitor(pool, { check, unhealthyThreshold: 1 });
    await m.checkNow();
    expect(pool.calls.map((c) => c.healthy)).toEqual([false]);
  });
});

describe('HealthMonitor timeouts', () => {
  it('fails a hanging check at timeoutMs with a timeout error and aborts its signal', async () => {
    const pool = new FakePool(['http://127.0.0.1:1']);
    let signal: AbortSignal | undefined;
    const check: HealthCheck = (_e, s) => {
      signal = s;
      return new Promise((_resolve, reject) => s.addEventListener('abort', () => reject(s.reason)));
    };
    const m = monitor(pool, { check, timeoutMs: 30, unhealthyThreshold: 1 });
    const events: HealthCheckEvent[] = [];
    m.onCheck((e) => events.push(e));
    await m.checkNow();
    expect(events).toHaveLength(1);
    expect(events[0]!.ok).toBe(false);
    expect(isTimeoutError(events[0]!.error)).toBe(true);
    expect(String(events[0]!.error)).toMatch(/timed out after 30 ms/);
    expect(signal?.aborted).toBe(true);
    expect(pool.calls.map((c) => c.healthy)).toEqual([false]);
  });

  it('never overlaps a check that ignores its signal: each turn it is still running counts as a failure', async () => {
    const pool = new FakePool(['http://127.0.0.1:1']);
    let running = 0;
    let maxRunning = 0;
    let started = 0;
    let finish: (() => void) | undefined;
    const check: HealthCheck = () => {
      started++;
      running++;
      maxRunning = Math.max(maxRunning, running);
      return new Promise<void>((resolve) => {
        finish = () => {
          running--;
          resolve();
        };
      });
    };
    const m = monitor(pool, { check, timeoutMs: 10, unhealthyThreshold: 3 });
    const events: HealthCheckEvent[] = [];
    m.onCheck((e) => events.push(e));
    await m.checkNow(); // times out
    await m.checkNow(); // still running: a failure, no new check
    await m.checkNow();
    expect(started).toBe(1);
    expect(events.map((e) => e.ok)).toEqual([false, false, false]);
    expect(String(events[1]!.error)).toMatch(/still running .* ignores its AbortSignal/);
    expect(pool.calls.map((c) => c.healthy)).toEqual([false]);
    finish!();
    await new Promise((r) => setTimeout(r, 0));
    await m.checkNow(); // a fresh check now
    expect(started).toBe(2);
    expect(maxRunning).toBe(1);
    finish!();
  });
});

describe('HealthMonitor scheduling', () => {
  it('runs checks on its own after start(), faster while unhealthy, and restores the endpoint', async () => {
    const pool = new FakePool(['http://127.0.0.1:1']);
    const { check, failing } = switchable();
    const a = 'http://127.0.0.1:1';
    failing.add(a);
    const m = monitor(pool, {
      check,
      intervalMs: 20,
      unhealthyIntervalMs: 5,
      jitter: 0,
      unhealthyThreshold: 3,
      healthyThreshold: 2,
    });
    const seen: boolean[] = [];
    m.onCheck((e) => seen.push(e.ok));
    // What had been reported when the pool was told (the deciding check is reported next).
    const atChange: boolean[][] = [];
    pool.onStateChange(() => atChange.push([...seen]));
    m.start();
    m.start(); // idempotent
    expect(m.started).toBe(true);
    await waitFor(() => pool.calls.length === 1);
    expect(atChange[0]).toEqual([false, false]);
    failing.delete(a);
    await waitFor(() => pool.calls.length === 2);
    expect(pool.calls.map((c) => c.healthy)).toEqual([false, true]);
    const beforeRestore = atChange[1]!;
    expect(beforeRestore.at(-1)).toBe(true);
    expect(beforeRestore.at(-2)).toBe(false);
    await m.stop();
    expect(m.started).toBe(false);
  });

  it('never runs two checks of one endpoint at once, even with a slow check and a short interval', async () => {
    const pool = new FakePool(['http://127.0.0.1:1', 'http://127.0.0.2:1']);
    const running = new Map<string, number>();
    let overlaps = 0;
    let checks = 0;
    const check: HealthCheck = async (e) => {
      const n = (running.get(e.id) ?? 0) + 1;
      running.set(e.id, n);
      if (n > 1) overlaps++;
      checks++;
      await new Promise((r) => setTimeout(r, 15));
      running.set(e.id, running.get(e.id)! - 1);
    };
    const m = monitor(pool, {
      check,
      intervalMs: 1,
      unhealthyIntervalMs: 1,
      jitter: 0,
      timeoutMs: 1000,
    });
    m.start();
    // checkNow in the middle must not start a second one either.
    await waitFor(() => checks >= 4);
    await m.checkNow();
    await waitFor(() => checks >= 12);
    await m.stop();
    expect(overlaps).toBe(0);
  });

  it('limits concurrent checks across endpoints to `concurrency`', async () => {
    const urls = Array.from({ length: 40 }, (_, i) => `http://127.0.1.${i}:80`);
    const pool = new FakePool(urls);
    let running = 0;
    let max = 0;
    const check: HealthCheck = async () => {
      running++;
      max = Math.max(max, running);
      await new Promise((r) => setTimeout(r, 2));
      running--;
    };
    const m = monitor(pool, { check, concurrency: 5 });
    await m.checkNow();
    expect(max).toBe(5);
    expect(running).toBe(0);
  });

  it('checks endpoints added to the pool and drops removed ones, ignoring their running check', async () => {
    const pool = new FakePool(['http://127.0.0.1:1']);
    const b = 'http://127.0.0.2:1';
    const signals = new Map<string, AbortSignal>();
    const release: Array<() => void> = [];
    const check: HealthCheck = (e, signal) => {
      signals.set(e.id, signal);
      if (e.id !== b) return Promise.resolve();
      // b hangs until released, then fails: a result that must be ignored.
      return new Promise((_resolve, reject) => release.push(() => reject(new Error('late'))));
    };
    const m = monitor(pool, { check, intervalMs: 100, jitter: 0.5, unhealthyThreshold: 1 });
    const events: HealthCheckEvent[] = [];
    m.onCheck((e) => events.push(e));
    m.start();
    pool.add(b);
    await waitFor(() => signals.has(b) && events.length >= 1);
    pool.remove(b);
    expect(signals.get(b)!.aborted).toBe(true);
    expect((signals.get(b)!.reason as { code?: string }).code).toBe('ERR_ABORTED');
    expect(signals.get(b)!.reason).toBeInstanceOf(AbortedError);
    for (const r of release) r();
    await m.checkNow();
    expect(events.every((e) => e.endpoint.id !== b)).toBe(true);
    expect(pool.calls).toEqual([]);
  });

  it('does not check draining endpoints', async () => {
    const pool = new FakePool(['http://127.0.0.1:1', 'http://127.0.0.2:1']);
    const { check, calls } = switchable();
    pool.setState('http://127.0.0.2:1', 'draining', 'drain');
    const m = monitor(pool, { check });
    await m.checkNow();
    expect(calls).toEqual(['http://127.0.0.1:1']);
  });

  it('stop() aborts running checks, ignores their results, clears the timer and leaves nothing running', async () => {
    const pool = new FakePool(['http://127.0.0.1:1']);
    const { timers, stats } = countingTimers();
    let signal: AbortSignal | undefined;
    let settled = false;
    const check: HealthCheck = (_e, s) => {
      signal = s;
      return new Promise((_resolve, reject) =>
        s.addEventListener('abort', () =>
          setTimeout(() => {
            settled = true;
            reject(s.reason);
          }, 20),
        ),
      );
    };
    const m = monitor(pool, { check, timers, jitter: 0, timeoutMs: 60_000, unhealthyThreshold: 1 });
    const events: HealthCheckEvent[] = [];
    m.onCheck((e) => events.push(e));
    m.start();
    await waitFor(() => signal !== undefined);
    const pendingCheckNow = m.checkNow();
    await m.stop();
    await pendingCheckNow;
    expect(signal!.aborted).toBe(true);
    expect((signal!.reason as { code?: string }).code).toBe('ERR_ABORTED');
    expect(signal!.reason).toBeInstanceOf(AbortedError);
    expect(settled).toBe(true);
    expect(stats.live).toBe(0);
    expect(events).toEqual([]);
    expect(pool.calls).toEqual([]);
    await m.stop(); // idempotent
    await m[Symbol.asyncDispose]();
  });

  it('can be started again after stop()', async () => {
    const pool = new FakePool(['http://127.0.0.1:1']);
    const { check, calls } = switchable();
    const m = monitor(pool, { check, intervalMs: 5, jitter: 0 });
    m.start();
    await waitFor(() => calls.length >= 1);
    await m.stop();
    const before = calls.length;
    m.start();
    await waitFor(() => calls.length > before);
  });

  it('drives 10 000 endpoints with one timer', async () => {
    const urls: string[] = [];
    for (let i = 0; i < 10_000; i++)
      urls.push(`http://127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:80`);
    const pool = new FakePool(urls);
    const { timers, stats } = countingTimers();
    const counts = new Map<PoolEndpoint, number>();
    const check: HealthCheck = (e) => {
      counts.set(e, (counts.get(e) ?? 0) + 1);
      return Promise.resolve();
    };
    const m = monitor(pool, { check, timers, intervalMs: 200, jitter: 0.5 });
    m.start();
    expect(stats.live).toBe(1);
    await waitFor(
      () => counts.size === 10_000 && [...counts.values()].every((n) => n >= 2),
      20_000,
    );
    expect(stats.maxLive).toBe(1);
    expect(stats.live).toBe(1);
    await m.stop();
    expect(stats.live).toBe(0);
  });
});

describe('HealthMonitor bad input', () => {
  const pool = new FakePool(['http://127.0.0.1:1']);
  const cases: Array<[string, unknown, RegExp]> = [
    ['intervalMs', 0, /^intervalMs must be a finite number > 0 and <= 2147483647, got 0$/],
    ['intervalMs', -1, /intervalMs .* got -1/],
    ['intervalMs', Number.NaN, /intervalMs .* got NaN/],
    ['intervalMs', '5000', /intervalMs .* got "5000"/],
    ['intervalMs', 2 ** 31, /intervalMs .* got 2147483648/],
    ['unhealthyIntervalMs', 0, /unhealthyIntervalMs must be a finite number > 0.* got 0/],
    ['timeoutMs', Number.POSITIVE_INFINITY, /timeoutMs must be .* got Infinity/],
    ['timeoutMs', -5, /timeoutMs .* got -5/],
    ['jitter', -0.1, /jitter must be a finite number >= 0 and <= 0.5, got -0.1/],
    ['jitter', 0.9, /jitter .* got 0.9/],
    ['healthyThreshold', 0, /healthyThreshold must be an integer >= 1, got 0/],
    ['healthyThreshold', 1.5, /healthyThreshold must be an integer >= 1, got 1.5/],
    ['unhealthyThreshold', 0, /unhealthyThreshold must be an integer >= 1, got 0/],
    ['unhealthyThreshold', null, /unhealthyThreshold .* got null/],
    ['concurrency', 0, /concurrency must be an integer >= 1, got 0/],
    ['concurrency', 2.5, /concurrency .* got 2.5/],
    ['check', 'fetch', /check must be a function, got "fetch"/],
    ['now', 1, /now must be a function, got 1/],
    ['random', {}, /random must be a function, got \{\}/],
    [
      'timers',
      { setTimeout },
      /timers must be an object with setTimeout and clearTimeout functions/,
    ],
  ];
  for (const [name, value, message] of cases) {
    it(`rejects ${name} = ${String(value)}`, () => {
      expect(() => new HealthMonitor(pool, { [name]: value } as HealthMonitorOptions)).toThrow(
        message,
      );
    });
  }

  it('rejects unknown options and non-object options', () => {
    expect(
      () => new HealthMonitor(pool, { interval: 5 } as unknown as HealthMonitorOptions),
    ).toThrow(/HealthMonitor got an unknown option "interval"/);
    expect(() => new HealthMonitor(pool, 5 as unknown as HealthMonitorOptions)).toThrow(
      /HealthMonitor options must be an object, got 5/,
    );
  });

  it('rejects something that is not a pool', () => {
    expect(() => new HealthMonitor(null as never)).toThrow(
      /^HealthMonitor needs a Pool as its first argument, got null$/,
    );
  });

  it('accepts Infinity concurrency and a timeout longer than the interval', () => {
    expect(
      () =>
        new HealthMonitor(pool, {
          concurrency: Number.POSITIVE_INFINITY,
          timeoutMs: 10_000,
          intervalMs: 1_000,
        }),
    ).not.toThrow();
  });
});
