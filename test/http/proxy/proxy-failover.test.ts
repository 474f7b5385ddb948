import diagnostics from 'node:diagnostics_channel';
import { describe, expect, it, onTestFinished } from 'vitest';
import { RetryBudget } from '../../../src/http/index.js';
import {
  FirstAvailable,
  failOnProcessProblems,
  makePool,
  namedBackend,
  refusedUrl,
  resettingBackend,
  send,
  startBackend,
  startProxy,
  statusBackend,
} from '../proxy-support.js';

failOnProcessProblems();

describe('failover: requests that never left', () => {
  it('retries a GET on another endpoint when the connection is refused', async () => {
    const dead = await refusedUrl();
    const b = await namedBackend('b');
    const pool = makePool([dead, b.url]);
    const { url } = await startProxy(pool);
    const reply = await send(url);
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('b');
    expect(b.requests).toHaveLength(1);
  });

  it('retries a POST on connect refused (it provably never reached the upstream)', async () => {
    const dead = await refusedUrl();
    const echo = await startBackend((_req, res, received) => res.end(received.body));
    const pool = makePool([dead, echo.url]);
    const { url } = await startProxy(pool);
    const reply = await send(url, { method: 'POST', body: 'order #1' });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('order #1');
    expect(echo.requests).toHaveLength(1);
  });

  it('retries a POST with a large streamed body on connect refused: the body was not read yet', async () => {
    const dead = await refusedUrl();
    const echo = await startBackend((_req, res, received) => res.end(String(received.body.length)));
    const pool = makePool([dead, echo.url]);
    const { url } = await startProxy(pool, { retry: { bodyBufferBytes: 1024 } });
    const reply = await send(url, { method: 'POST', body: Buffer.alloc(200_000, 1) });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('200000');
  });

  it('answers 502 when every endpoint refuses, after one try on each', async () => {
    const pool = makePool([await refusedUrl(), await refusedUrl(), await refusedUrl()]);
    const { url } = await startProxy(pool, { retry: { attempts: 5 } });
    const reply = await send(url);
    expect(reply.status).toBe(502);
    expect(reply.body).toMatch(
      /^502 Bad Gateway: upstream connection failed \(ECONNREFUSED\) after 3 attempts/,
    );
  });
});

describe('failover: requests that were sent', () => {
  it('retries an idempotent GET after a reset', async () => {
    const a = await resettingBackend();
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url]);
    const { url } = await startProxy(pool);
    const reply = await send(url);
    expect(reply.body).toBe('b');
    expect(a.requests).toHaveLength(1);
  });

  it('does not retry a POST once it was sent: 502, the second endpoint never sees it', async () => {
    const a = await resettingBackend();
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url]);
    const { url } = await startProxy(pool);
    const reply = await send(url, { method: 'POST', body: 'charge card' });
    expect(reply.status).toBe(502);
    expect(reply.body).toMatch(/upstream connection broke/);
    expect(a.requests).toHaveLength(1);
    expect(b.requests).toHaveLength(0);
  });

  it('retries a POST carrying an Idempotency-Key after a reset', async () => {
    const a = await resettingBackend();
    const b = await startBackend((_req, res, received) => res.end(received.body));
    const pool = makePool([a.url, b.url]);
    const { url } = await startProxy(pool);
    const reply = await send(url, {
      method: 'POST',
      body: 'charge card',
      headers: { 'idempotency-key': 'k-1' },
    });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('charge card');
    expect(b.requests[0]?.headers['idempotency-key']).toBe('k-1');
  });

  it('retries a POST after a reset with retry.nonIdempotent', async () => {
    const a = await resettingBackend();
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url]);
    const { url } = await startProxy(pool, { retry: { nonIdempotent: true } });
    expect((await send(url, { method: 'POST', body: 'x' })).body).toBe('b');
  });

  it('does not retry a body larger than bodyBufferBytes once sending started', async () => {
    const a = await resettingBackend();
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url]);
    const { url } = await startProxy(pool, { retry: { bodyBufferBytes: 1024 } });
    const reply = await send(url, { method: 'PUT', body: Buffer.alloc(100_000, 7) });
    expect(reply.status).toBe(502);
    expect(b.requests).toHaveLength(0);
  });

  it('retries a PUT whose body fits in bodyBufferBytes, sending the same bytes again', async () => {
    const a = await resettingBackend();
    const b = await startBackend((_req, res, received) => res.end(received.body));
    const pool = makePool([a.url, b.url]);
    const { url } = await startProxy(pool, { retry: { bodyBufferBytes: 200_000 } });
    const body = Buffer.alloc(150_000, 'abc');
    const reply = await send(url, { method: 'PUT', body });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe(body.toString());
    expect(a.requests[0]?.body.length).toBeGreaterThan(0);
  });

  it('retries a GET after a headers timeout, and answers 504 when the last try times out', async () => {
    const slow = await startBackend(() => {}); // never answers
    const b = await namedBackend('b');
    const pool = makePool([slow.url, b.url]);
    const { url } = await startProxy(pool, { timeouts: { headersMs: 200 } });
    expect((await send(url)).body).toBe('b');

    const pool2 = makePool([slow.url]);
    const proxy2 = await startProxy(pool2, { timeouts: { headersMs: 200 } });
    const reply = await send(proxy2.url);
    expect(reply.status).toBe(504);
    expect(reply.body).toMatch(/^504 Gateway Timeout: upstream timed out waiting for the response/);
  });
});

describe('failover: statuses', () => {
  it('retries a GET on 503 and discards the 503 response', async () => {
    const a = await statusBackend(503, 'a');
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url]);
    const { url } = await startProxy(pool);
    const reply = await send(url);
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('b');
    expect(reply.headers['x-backend']).toBe('b');
  });

  it('forwards the failed response on the last try', async () => {
    const a = await statusBackend(503, 'a');
    const b = await statusBackend(502, 'b');
    const pool = makePool([a.url, b.url]);
    const { url } = await startProxy(pool, { retry: { attempts: 2 } });
    const reply = await send(url);
    expect(reply.status).toBe(502);
    expect(reply.body).toBe('b says 502');
  });

  it('never tries the same endpoint twice while others are untried', async () => {
    const backends = [
      await statusBackend(503, 'a'),
      await statusBackend(503, 'b'),
      await statusBackend(503, 'c'),
    ];
    const pool = makePool(backends.map((b) => b.url));
    const { url } = await startProxy(pool, { retry: { attempts: 3 } });
    const reply = await send(url);
    expect(reply.status).toBe(503);
    expect(backends.map((b) => b.requests.length)).toEqual([1, 1, 1]);
  });

  it('stops when the endpoints run out, even with attempts left', async () => {
    const a = await statusBackend(503, 'a');
    const b = await statusBackend(503, 'b');
    const pool = makePool([a.url, b.url]);
    const { url } = await startProxy(pool, { retry: { attempts: 10 } });
    expect((await send(url)).status).toBe(503);
    expect(a.requests.length + b.requests.length).toBe(2);
  });

  it('does not retry a POST on 503 (it reached the upstream)', async () => {
    const a = await statusBackend(503, 'a');
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url]);
    const { url } = await startProxy(pool);
    const reply = await send(url, { method: 'POST', body: 'x' });
    expect(reply.status).toBe(503);
    expect(reply.body).toBe('a says 503');
    expect(b.requests).toHaveLength(0);
  });

  it('does not retry 500 unless configured', async () => {
    const a = await statusBackend(500, 'a');
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url]);
    const { url } = await startProxy(pool);
    expect((await send(url)).status).toBe(500);
    const pool2 = makePool([a.url, b.url]);
    const proxy2 = await startProxy(pool2, { retry: { statuses: [500] } });
    expect((await send(proxy2.url)).body).toBe('b');
  });
});

describe('failover: the retry budget', () => {
  it('makes no retry when the budget is exhausted', async () => {
    const dead = await refusedUrl();
    const b = await namedBackend('b');
    const pool = makePool([dead, b.url]);
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0 });
    const { url } = await startProxy(pool, { retry: { budget } });
    const reply = await send(url);
    expect(reply.status).toBe(502);
    expect(reply.body).toMatch(/after 1 attempt\b/);
    expect(b.requests).toHaveLength(0);
  });

  it('allows retries up to minPerSecond × window with no ratio, then stops', async () => {
    const a = await statusBackend(503, 'a');
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url], { selector: new FirstAvailable() });
    // A reserve of exactly two retries in the window and no ratio.
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0.2, windowMs: 10_000 });
    const { url } = await startProxy(pool, { retry: { budget } });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await send(url)).status);
    expect(statuses).toEqual([200, 200, 503, 503, 503, 503]);
    expect(budget.counts).toEqual({ requests: 6, retries: 2 });
  });

  it('earns ratio × requests', async () => {
    const a = await statusBackend(503, 'a');
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url], { selector: new FirstAvailable() });
    const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 0 });
    const { url } = await startProxy(pool, { retry: { budget } });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await send(url)).status);
    expect(statuses).toEqual([503, 200, 503, 200, 503, 200]);
  });
});

describe('failover: Retry-After', () => {
  it('ejects an endpoint for a Retry-After in seconds', async () => {
    const a = await statusBackend(503, 'a', { 'retry-after': '30' });
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url]);
    const { url } = await startProxy(pool);
    expect((await send(url)).body).toBe('b');
    expect(pool.get(a.url)?.state).toBe('ejected');
    for (let i = 0; i < 4; i++) expect((await send(url)).body).toBe('b');
    expect(a.requests).toHaveLength(1);
  });

  it('ejects an endpoint for a Retry-After HTTP date, and for a 429', async () => {
    const date = new Date(Date.now() + 30_000).toUTCString();
    const a = await statusBackend(429, 'a', { 'retry-after': date });
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url]);
    const { url } = await startProxy(pool);
    const reply = await send(url);
    expect(reply.status).toBe(429); // 429 is forwarded (not a retry status by default)…
    expect(pool.get(a.url)?.state).toBe('ejected'); // …but honoured for that endpoint
    expect((await send(url)).body).toBe('b');
  });

  it('ignores a malformed Retry-After', async () => {
    const a = await statusBackend(503, 'a', { 'retry-after': 'soon' });
    const pool = makePool([a.url], { panicThreshold: 0 });
    const { url } = await startProxy(pool, { retry: { attempts: 1 } });
    expect((await send(url)).status).toBe(503);
    expect(pool.get(a.url)?.state).toBe('healthy');
  });
});

describe('failover: observability', () => {
  it('publishes each retry on switchyard:proxy:retry', async () => {
    const seen: { reason: string; attempt: number }[] = [];
    const listener = (message: unknown) => {
      const m = message as { reason: string; attempt: number };
      seen.push({ reason: m.reason, attempt: m.attempt });
    };
    diagnostics.subscribe('switchyard:proxy:retry', listener);
    onTestFinished(() => {
      diagnostics.unsubscribe('switchyard:proxy:retry', listener);
    });
    const dead = await refusedUrl();
    const a = await statusBackend(503, 'a');
    const b = await namedBackend('b');
    const pool = makePool([dead, a.url, b.url]);
    const { url } = await startProxy(pool);
    expect((await send(url)).body).toBe('b');
    expect(seen).toEqual([
      { reason: 'connect', attempt: 1 },
      { reason: 'status 503', attempt: 2 },
    ]);
  });
});
