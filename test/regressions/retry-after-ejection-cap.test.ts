import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createProxyHandler } from '../../src/http/index.js';
import type { PoolOptions } from '../../src/pool/options.js';
import { DEFAULT_MAX_EJECTION_PERCENT } from '../../src/pool/outlier.js';
import { Pool } from '../../src/pool/pool.js';
import { call, describeEvents, makePool, urls } from '../pool/support.js';

/**
 * With outlier detection off, a `Retry-After` ejection was not capped at all: one endpoint
 * answering 503 + `Retry-After` on every try (or a fleet asking for a pause at once) ejected
 * every endpoint in turn. The cap applies to `Retry-After` ejections with or without outlier
 * detection; without it, the default `maxEjectionPercent` (50 %) is the cap.
 */
describe('Retry-After never ejects more than maxEjectionPercent of the pool', () => {
  it('without outlier detection: at most the default 50 %', () => {
    expect(DEFAULT_MAX_EJECTION_PERCENT).toBe(50);
    const [A, B, C, D] = urls(4) as [string, string, string, string];
    const { pool, events } = makePool({ endpoints: [A, B, C, D], outlierDetection: false });
    for (const id of [A, B, C, D]) call(pool, id, false, { retryAfterMs: 10_000 });
    expect(pool.snapshot().totals.ejected).toBe(2);
    expect(pool.endpoints.map((e) => e.state)).toEqual([
      'ejected',
      'ejected',
      'healthy',
      'healthy',
    ]);
    expect(describeEvents(events)).toEqual([
      `${A} healthy→ejected retry-after`,
      `${B} healthy→ejected retry-after`,
    ]);
  });

  it('without outlier detection: a pool of two keeps one endpoint in, a pool of one keeps it', () => {
    const [A, B] = urls(2) as [string, string];
    const { pool } = makePool({ endpoints: [A, B], outlierDetection: false });
    call(pool, A, false, { retryAfterMs: 1_000 });
    call(pool, B, false, { retryAfterMs: 1_000 });
    expect(pool.endpoints.map((e) => e.state)).toEqual(['ejected', 'healthy']);
    const { pool: single } = makePool({ endpoints: [A], outlierDetection: false });
    call(single, A, false, { retryAfterMs: 1_000 });
    expect(single.get(A)!.state).toBe('healthy');
    expect(single.acquire().endpoint.id).toBe(A);
  });

  it('with outlier detection: its maxEjectionPercent, shared with failure ejections', () => {
    const ids = urls(5);
    const { pool } = makePool({
      endpoints: ids,
      outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 40 },
    });
    call(pool, ids[0]!, false); // a failure ejection: 1 of 5
    for (const id of ids.slice(1)) call(pool, id, false, { retryAfterMs: 5_000 });
    expect(pool.snapshot().totals.ejected).toBe(2); // 40 % of 5
    expect(pool.snapshot().totals.eligible).toBe(3);
  });

  it('maxEjectionPercent: 100 still lets every endpoint go (the panic threshold then serves them)', () => {
    const ids = urls(3);
    const { pool } = makePool({ endpoints: ids, outlierDetection: { maxEjectionPercent: 100 } });
    for (const id of ids) call(pool, id, false, { retryAfterMs: 5_000 });
    expect(pool.snapshot().totals.ejected).toBe(3);
  });

  it('a stretched Retry-After of an ejected endpoint is not a new ejection', () => {
    const [A, B] = urls(2) as [string, string];
    const { pool, clock } = makePool({ endpoints: [A, B], outlierDetection: false });
    const lease = pool.acquire({ prefer: A });
    call(pool, A, false, { retryAfterMs: 1_000 });
    lease.release({ ok: false, retryAfterMs: 4_000 }); // a late answer asks for longer
    clock.advance(2_000);
    expect(pool.get(A)!.state).toBe('ejected');
    call(pool, B, false, { retryAfterMs: 1_000 });
    expect(pool.get(B)!.state).toBe('healthy'); // still 1 of 2
  });

  it('the cap holds when the pool shrinks under Retry-After ejections', () => {
    const ids = urls(4);
    const { pool } = makePool({ endpoints: ids, outlierDetection: false });
    call(pool, ids[0]!, false, { retryAfterMs: 5_000 });
    call(pool, ids[1]!, false, { retryAfterMs: 9_000 });
    pool.setEndpoints(ids.slice(0, 3)); // 2 of 3 would be 67 %: the first to end returns
    expect(pool.endpoints.map((e) => e.state)).toEqual(['healthy', 'ejected', 'healthy']);
  });
});

/** Starts `server` on 127.0.0.1, closed when the test ends; resolves its URL. */
async function serve(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A backend answering every request 503 with `Retry-After: 30`, counting them. */
async function pausedBackend(): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const url = await serve(
    http.createServer((_req, res) => {
      hits++;
      res.writeHead(503, { 'retry-after': '30', 'content-type': 'text/plain' });
      res.end('paused');
    }),
  );
  return { url, hits: () => hits };
}

/** GET / through `proxyUrl`; resolves the status. */
function get(proxyUrl: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(proxyUrl, { agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

describe('through the proxy: backends answering 503 + Retry-After', () => {
  async function run(poolOptions: PoolOptions): Promise<Pool> {
    const backends = await Promise.all([1, 2, 3, 4].map(() => pausedBackend()));
    const pool = new Pool({ endpoints: backends.map((b) => b.url), ...poolOptions });
    onTestFinished(() => pool.close());
    const proxy = createProxyHandler(pool, { retry: { attempts: 4 } });
    const server = http.createServer(proxy);
    const proxyUrl = await serve(server);
    onTestFinished(() => proxy.close({ force: true }));
    for (let i = 0; i < 8; i++) {
      const status = await get(proxyUrl);
      expect([502, 503]).toContain(status);
      expect(pool.snapshot().totals.ejected).toBeLessThanOrEqual(2);
    }
    expect(backends.every((b) => b.hits() > 0)).toBe(true);
    expect(pool.snapshot().totals.inflight).toBe(0);
    return pool;
  }

  it('without outlier detection, ejects at most half of the pool', async () => {
    const pool = await run({ outlierDetection: false });
    const { totals } = pool.snapshot();
    expect(totals.ejected).toBe(2);
    expect(totals.eligible).toBe(2);
  });

  it('with outlier detection, ejects at most its maxEjectionPercent', async () => {
    const pool = await run({ outlierDetection: { maxEjectionPercent: 25 } });
    expect(pool.snapshot().totals.ejected).toBe(1);
  });
});
