import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isHealthCheckError, isTimeoutError } from '../../src/errors.js';
import { httpCheck } from '../../src/http/index.js';
import {
  type HealthCheck,
  type HealthCheckEvent,
  HealthMonitor,
  type HealthMonitorOptions,
  Pool,
  type PoolOptions,
  type StateChangeEvent,
} from '../../src/index.js';
import { waitFor } from './fake-pool.js';

interface Backend {
  url: string;
  port: number;
  /** What the backend answers: a status, or 'hang' (accept, never answer). */
  mode: number | 'hang';
  requests: number;
  close(): Promise<void>;
}

async function backend(port = 0): Promise<Backend> {
  const sockets = new Set<Socket>();
  const state = { mode: 200 as number | 'hang', requests: 0 };
  const server: Server = createServer((_req, res) => {
    state.requests++;
    if (state.mode !== 'hang') res.writeHead(state.mode).end('state');
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    if (server.listening) await new Promise((resolve) => server.close(resolve));
  };
  onTestFinished(close);
  const actual = (server.address() as AddressInfo).port;
  return Object.assign(state, {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    close,
  }) as Backend;
}

function setup(
  urls: string[],
  options: HealthMonitorOptions,
  poolOptions: Omit<PoolOptions, 'endpoints'> = {},
) {
  const pool = new Pool({ ...poolOptions, endpoints: urls });
  const monitor = new HealthMonitor(pool, options);
  onTestFinished(async () => {
    await monitor.stop();
    await pool.close();
  });
  const changes: StateChangeEvent[] = [];
  pool.onStateChange((e) => changes.push(e));
  const checks: HealthCheckEvent[] = [];
  monitor.onCheck((e) => checks.push(e));
  return { pool, monitor, changes, checks };
}

const checks: Array<[string, () => HealthCheck | undefined]> = [
  ['the default fetch check', () => undefined],
  [
    'httpCheck',
    () => {
      const check = httpCheck({ path: '/healthz' });
      onTestFinished(() => check.close());
      return check;
    },
  ],
];

describe.each(checks)('HealthMonitor with a real Pool and %s', (_name, makeCheck) => {
  it('marks a backend that answers 500, then is closed, unhealthy after exactly unhealthyThreshold failed checks and restores it after exactly healthyThreshold passes', async () => {
    const a = await backend();
    const b = await backend();
    const check = makeCheck();
    const { pool, monitor, changes } = setup([a.url, b.url], {
      ...(check ? { check } : {}),
      unhealthyThreshold: 3,
      healthyThreshold: 2,
    });
    await monitor.checkNow();
    expect(changes).toEqual([]);
    a.mode = 500;
    await monitor.checkNow();
    await monitor.checkNow();
    expect(pool.get(a.url)?.state).toBe('healthy');
    await monitor.checkNow();
    expect(changes.map((c) => [c.endpoint.id, c.from, c.to, c.reason])).toEqual([
      [a.url, 'healthy', 'unhealthy', 'health-check'],
    ]);
    // Out of the eligible set: every pick goes to b.
    for (let i = 0; i < 20; i++) {
      const lease = pool.acquire();
      expect(lease.endpoint.id).toBe(b.url);
      lease.release();
    }
    await a.close();
    await monitor.checkNow(); // connection refused: still failing, no new event
    expect(changes).toHaveLength(1);
    const back = await backend(a.port);
    back.mode = 200;
    await monitor.checkNow();
    expect(changes).toHaveLength(1);
    await monitor.checkNow();
    expect(changes.map((c) => [c.endpoint.id, c.from, c.to, c.reason])).toEqual([
      [a.url, 'healthy', 'unhealthy', 'health-check'],
      [a.url, 'unhealthy', 'healthy', 'health-check'],
    ]);
  });

  it('does the same on its own timer: exactly unhealthyThreshold failures, then exactly healthyThreshold passes', async () => {
    const a = await backend();
    const check = makeCheck();
    const { pool, monitor, changes, checks } = setup([a.url], {
      ...(check ? { check } : {}),
      intervalMs: 20,
      unhealthyIntervalMs: 10,
      unhealthyThreshold: 3,
      healthyThreshold: 2,
      timeoutMs: 1_000,
    });
    // The check that causes a change is reported right after it: it ends at length + 1.
    const endsAt: number[] = [];
    pool.onStateChange(() => endsAt.push(checks.length + 1));
    monitor.start();
    await waitFor(() => checks.length >= 2);
    a.mode = 503;
    const failedFrom = checks.length;
    await waitFor(() => changes.length === 1);
    // A check that began before the switch may still pass; count the failures.
    const fails = checks.slice(failedFrom, endsAt[0]).filter((c) => !c.ok);
    expect(fails).toHaveLength(3);
    expect(checks[endsAt[0]! - 1]?.ok).toBe(false);
    expect(isHealthCheckError(fails[0]!.error)).toBe(true);
    expect(pool.get(a.url)?.state).toBe('unhealthy');
    a.mode = 200;
    const passFrom = checks.length;
    await waitFor(() => changes.length === 2);
    expect(checks.slice(passFrom, endsAt[1]).filter((c) => c.ok)).toHaveLength(2);
    expect(checks[endsAt[1]! - 1]?.ok).toBe(true);
    expect(changes.map((c) => c.to)).toEqual(['unhealthy', 'healthy']);
  });

  it('fails a backend that accepts but never answers at timeoutMs', async () => {
    const a = await backend();
    a.mode = 'hang';
    const check = makeCheck();
    const { monitor, checks, pool } = setup([a.url], {
      ...(check ? { check } : {}),
      timeoutMs: 100,
      unhealthyThreshold: 1,
    });
    await monitor.checkNow();
    expect(checks).toHaveLength(1);
    expect(checks[0]!.ok).toBe(false);
    expect(isTimeoutError(checks[0]!.error)).toBe(true);
    expect(String(checks[0]!.error)).toMatch(/timed out after 100 ms/);
    expect(checks[0]!.durationMs).toBeGreaterThanOrEqual(90);
    expect(a.requests).toBe(1);
    expect(pool.get(a.url)?.state).toBe('unhealthy');
  });
});

describe('HealthMonitor following a real Pool', () => {
  it('checks endpoints as they join, stops checking them when they leave, and skips draining ones', async () => {
    const a = await backend();
    const b = await backend();
    const { pool, monitor } = setup([a.url], { intervalMs: 20, jitter: 0 });
    monitor.start();
    await waitFor(() => a.requests >= 1);
    pool.add(b.url);
    await waitFor(() => b.requests >= 1);
    pool.remove(b.url);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const afterRemoval = b.requests;
    const lease = pool.acquire({ exclude: new Set([b.url]) });
    pool.remove(a.url, { drain: true });
    expect(pool.get(a.url)?.state).toBe('draining');
    await new Promise((resolve) => setTimeout(resolve, 30));
    const whileDraining = a.requests;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(a.requests).toBe(whileDraining);
    expect(b.requests).toBe(afterRemoval);
    lease.release();
  });

  it('takes an ejected endpoint out when its checks fail, and brings it back in one step when they pass', async () => {
    const a = await backend();
    const b = await backend();
    const { pool, monitor, changes } = setup(
      [a.url, b.url],
      { unhealthyThreshold: 1, healthyThreshold: 1 },
      { outlierDetection: { consecutiveFailures: 1, baseEjectionMs: 60_000 } },
    );
    const lease = pool.acquire({ exclude: new Set([b.url]) });
    lease.release({ ok: false, error: new Error('reset') });
    expect(pool.get(a.url)?.state).toBe('ejected');
    a.mode = 500;
    await monitor.checkNow();
    expect(pool.get(a.url)?.state).toBe('unhealthy');
    a.mode = 200;
    await monitor.checkNow();
    // Envoy's successful_active_health_check_uneject_host: the pass ends the ejection too.
    expect(pool.get(a.url)?.state).toBe('healthy');
    expect(changes.map((c) => [c.from, c.to, c.reason])).toEqual([
      ['healthy', 'ejected', 'consecutive-failures'],
      ['ejected', 'unhealthy', 'health-check'],
      ['unhealthy', 'healthy', 'health-check'],
    ]);
  });

  it('with unejectOnPass: false, an endpoint back to health still serves its ejection', async () => {
    const a = await backend();
    const b = await backend();
    const { pool, monitor, changes } = setup(
      [a.url, b.url],
      { unhealthyThreshold: 1, healthyThreshold: 1, unejectOnPass: false },
      { outlierDetection: { consecutiveFailures: 1, baseEjectionMs: 60_000 } },
    );
    pool.acquire({ exclude: new Set([b.url]) }).release({ ok: false, error: new Error('reset') });
    a.mode = 500;
    await monitor.checkNow();
    a.mode = 200;
    await monitor.checkNow();
    await monitor.checkNow();
    expect(pool.get(a.url)?.state).toBe('ejected');
    expect(changes.map((c) => [c.from, c.to, c.reason])).toEqual([
      ['healthy', 'ejected', 'consecutive-failures'],
      ['ejected', 'unhealthy', 'health-check'],
      ['unhealthy', 'ejected', 'health-check'],
    ]);
  });

  it('ends an outlier ejection at the first passing check of an endpoint that stayed healthy', async () => {
    const a = await backend();
    const b = await backend();
    const { pool, monitor, changes } = setup(
      [a.url, b.url],
      {},
      { outlierDetection: { consecutiveFailures: 2, baseEjectionMs: 60_000 } },
    );
    for (let i = 0; i < 2; i++) {
      pool.acquire({ exclude: new Set([b.url]) }).release({ ok: false, error: new Error('500') });
    }
    expect(pool.get(a.url)?.state).toBe('ejected');
    await monitor.checkNow();
    expect(pool.get(a.url)?.state).toBe('healthy');
    expect(changes.map((c) => `${c.from} -> ${c.to} (${c.reason})`)).toEqual([
      'healthy -> ejected (consecutive-failures)',
      'ejected -> healthy (health-check)',
    ]);
    const snapshot = pool.snapshot().endpoints.find((e) => e.id === a.url)!;
    expect([snapshot.ejections, snapshot.consecutiveFailures, snapshot.eligible]).toEqual([
      1,
      0,
      true,
    ]);
    // The next ejection still backs off: the ejection count was kept.
    for (let i = 0; i < 2; i++) {
      pool.acquire({ exclude: new Set([b.url]) }).release({ ok: false, error: new Error('500') });
    }
    expect(pool.get(a.url)?.state).toBe('ejected');
  });

  it('keeps a Retry-After ejection whatever the checks say: the endpoint asked for that time', async () => {
    const a = await backend();
    const b = await backend();
    const { pool, monitor } = setup([a.url, b.url], {}, { outlierDetection: false });
    pool
      .acquire({ exclude: new Set([b.url]) })
      .release({ ok: false, error: new Error('503'), retryAfterMs: 30_000 });
    expect(pool.get(a.url)?.state).toBe('ejected');
    await monitor.checkNow();
    await monitor.checkNow();
    expect(pool.get(a.url)?.state).toBe('ejected');
  });

  it('logs the health changes it causes and failing checks to a pino-style logger', async () => {
    const a = await backend();
    const records: [string, Record<string, unknown>, string][] = [];
    const logger = {
      debug: (fields: object, message: string) => records.push(['debug', { ...fields }, message]),
      info: (fields: object, message: string) => records.push(['info', { ...fields }, message]),
      warn: (fields: object, message: string) => records.push(['warn', { ...fields }, message]),
      error: (fields: object, message: string) => records.push(['error', { ...fields }, message]),
    };
    const { monitor } = setup(
      [a.url],
      { unhealthyThreshold: 2, healthyThreshold: 1, logger },
      { outlierDetection: { consecutiveFailures: 1, baseEjectionMs: 60_000 } },
    );
    a.mode = 500;
    await monitor.checkNow();
    await monitor.checkNow();
    await monitor.checkNow();
    a.mode = 200;
    await monitor.checkNow();
    const shown = records.map(([level, fields, message]) => {
      const { err, durationMs, ...rest } = fields;
      if (err !== undefined) expect(err).toBeInstanceOf(Error);
      if (durationMs !== undefined) expect(typeof durationMs).toBe('number');
      return [level, rest, message];
    });
    const failed = `health check of ${a.url} failed: ${(records[0]![1].err as Error).message}`;
    expect(shown).toEqual([
      ['warn', { endpoint: a.url }, failed],
      ['debug', { endpoint: a.url }, failed],
      [
        'warn',
        { endpoint: a.url, from: 'healthy', to: 'unhealthy', reason: 'health-check' },
        `${a.url} healthy -> unhealthy (health-check)`,
      ],
      ['debug', { endpoint: a.url }, failed],
      [
        'info',
        { endpoint: a.url, from: 'unhealthy', to: 'healthy', reason: 'health-check' },
        `${a.url} unhealthy -> healthy (health-check)`,
      ],
    ]);
  });

  it('stops by itself once the pool is closed', async () => {
    const a = await backend();
    const { pool, monitor } = setup([a.url], { intervalMs: 10, jitter: 0 });
    monitor.start();
    await waitFor(() => a.requests >= 1);
    await pool.close();
    await waitFor(() => !monitor.started);
    const requests = a.requests;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(a.requests).toBe(requests);
  });
});
