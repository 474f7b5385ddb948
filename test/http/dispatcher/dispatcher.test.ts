import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { Agent, type Dispatcher, fetch, request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isSwitchyardError } from '../../../src/errors.js';
import {
  type BalancedDispatcher,
  type BalancedDispatcherOptions,
  balancedInterceptor,
  createBalancedDispatcher,
  RetryBudget,
} from '../../../src/http/index.js';
import type { Pool } from '../../../src/pool/pool.js';
import { FakeClock } from '../../pool/support.js';
import {
  closeServer,
  eventually,
  FirstAvailable,
  failOnProcessProblems,
  makePool,
  namedBackend,
  refusedUrl,
  resettingBackend,
  startBackend,
  statusBackend,
} from '../proxy-support.js';

failOnProcessProblems();

// The origin requests name: a loopback address nothing listens on. The dispatcher replaces
// it, so nothing ever connects there (and no name is ever resolved).
const SERVICE = 'http://127.0.0.9:8000';

/** A dispatcher over `pool`, destroyed after the test, which also checks no lease is left. */
function balanced(pool: Pool, options?: BalancedDispatcherOptions): BalancedDispatcher {
  const dispatcher = createBalancedDispatcher(pool, options);
  onTestFinished(async () => {
    expect(pool.snapshot().totals.inflight).toBe(0);
    await dispatcher.destroy();
  });
  return dispatcher;
}

/** A backend echoing the request body it received. */
function echoBackend() {
  return startBackend((_req, res, received) => res.end(received.body));
}

/** The error a promise rejects with. */
async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}

describe('balancing', () => {
  it('spreads fetch calls over three backends, round robin', async () => {
    const backends = [await namedBackend('a'), await namedBackend('b'), await namedBackend('c')];
    const pool = makePool(backends.map((b) => b.url));
    const dispatcher = balanced(pool);
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${SERVICE}/items`, { dispatcher });
      seen.push(await res.text());
    }
    expect(seen).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
    for (const b of backends) expect(b.requests).toHaveLength(2);
  });

  it('works with undici request, stream-free and through dispatcher.request', async () => {
    const a = await namedBackend('a');
    const pool = makePool([a.url]);
    const dispatcher = balanced(pool);
    const viaRequest = await request(`${SERVICE}/one`, { dispatcher });
    expect(await viaRequest.body.text()).toBe('a');
    // No origin at all: the dispatcher needs only a path.
    const direct = await dispatcher.request({ path: '/two', method: 'GET' });
    expect(direct.statusCode).toBe(200);
    expect(direct.headers['x-path']).toBe('/two');
    await direct.body.dump();
  });

  it("replaces the origin, keeps path and query, and prefixes the endpoint's path", async () => {
    const a = await namedBackend('a');
    const pool = makePool([`${a.url}/base/`]);
    const dispatcher = balanced(pool);
    const res = await fetch(`${SERVICE}/users/42?fields=name&x=%20`, { dispatcher });
    await res.text();
    expect(a.requests[0]?.url).toBe('/base/users/42?fields=name&x=%20');
  });

  it("sends the endpoint's host as Host, unless the request sets one", async () => {
    const a = await namedBackend('a');
    const pool = makePool([a.url]);
    const dispatcher = balanced(pool);
    await (await fetch(`${SERVICE}/`, { dispatcher })).text();
    await (
      await request(`${SERVICE}/`, { dispatcher, headers: { host: 'users.internal' } })
    ).body.text();
    expect(a.requests.map((r) => r.headers.host)).toEqual([
      `127.0.0.1:${a.port}`,
      'users.internal',
    ]);
  });

  it("also takes Node's built-in fetch (undici's older handler form)", async () => {
    const a = await namedBackend('a');
    const pool = makePool([a.url]);
    const dispatcher = balanced(pool);
    const res = await globalThis.fetch(`${SERVICE}/builtin`, {
      dispatcher,
    } as unknown as RequestInit);
    expect(await res.text()).toBe('a');
  });

  it('uses the key option as the hash key', async () => {
    const a = await namedBackend('a');
    const pool = makePool([a.url]);
    const keys: (string | undefined)[] = [];
    const acquire = pool.acquire.bind(pool);
    pool.acquire = (options) => {
      keys.push(options?.key);
      return acquire(options);
    };
    const dispatcher = balanced(pool, { key: (opts) => opts.path.split('/')[2] });
    await (await fetch(`${SERVICE}/tenants/t-7/items`, { dispatcher })).text();
    expect(keys).toEqual(['t-7']);
  });
});

describe('failover before the request left', () => {
  it('retries a POST on another endpoint when the connection is refused', async () => {
    const echo = await echoBackend();
    const pool = makePool([await refusedUrl(), echo.url]);
    const dispatcher = balanced(pool);
    const res = await fetch(`${SERVICE}/orders`, { dispatcher, method: 'POST', body: 'order #1' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('order #1');
    expect(echo.requests).toHaveLength(1);
  });

  it('retries a large streamed body on connect refused: not a byte of it was read', async () => {
    const echo = await startBackend((_req, res, received) => res.end(String(received.body.length)));
    const pool = makePool([await refusedUrl(), echo.url]);
    const dispatcher = balanced(pool, { retry: { bodyBufferBytes: 1024 } });
    const body = Readable.from([Buffer.alloc(100_000, 1), Buffer.alloc(100_000, 2)]);
    const res = await request(`${SERVICE}/upload`, { dispatcher, method: 'POST', body });
    expect(await res.body.text()).toBe('200000');
  });

  it('fails with UpstreamUnavailableError once every endpoint refused, one try each', async () => {
    const pool = makePool([await refusedUrl(), await refusedUrl(), await refusedUrl()]);
    const dispatcher = balanced(pool, { retry: { attempts: 5 } });
    const error = await rejection(request(`${SERVICE}/`, { dispatcher }));
    expect(isSwitchyardError(error)).toBe(true);
    expect(error.code).toBe('ERR_UPSTREAM_UNAVAILABLE');
    expect(error.attempts).toBe(3);
    expect(error.message).toMatch(/^upstream connection failed \(ECONNREFUSED\) after 3 attempts$/);
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
    const snapshot = pool.snapshot();
    expect(snapshot.totals.failures).toBe(3);
  });

  it('fetch wraps it: the coded error is the cause of its TypeError', async () => {
    const pool = makePool([await refusedUrl()]);
    const dispatcher = balanced(pool);
    const error = await rejection(fetch(`${SERVICE}/`, { dispatcher }));
    expect(error).toBeInstanceOf(TypeError);
    expect((error.cause as { code?: string }).code).toBe('ERR_UPSTREAM_UNAVAILABLE');
  });

  it('fails with NoEndpointError when no endpoint is eligible', async () => {
    const a = await namedBackend('a');
    const pool = makePool([a.url], { panicThreshold: 0 });
    pool.setHealth(pool.endpoints[0]!.id, false);
    const dispatcher = balanced(pool);
    const error = await rejection(request(`${SERVICE}/`, { dispatcher }));
    expect(error.code).toBe('ERR_NO_ENDPOINT');
    expect(a.requests).toHaveLength(0);
  });
});

describe('failover after the request was sent', () => {
  it('retries a GET after a reset before the response headers', async () => {
    const a = await resettingBackend();
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url]);
    const dispatcher = balanced(pool);
    const res = await fetch(`${SERVICE}/`, { dispatcher });
    expect(await res.text()).toBe('b');
    expect(a.requests).toHaveLength(1);
    expect(pool.snapshot().endpoints.map((e) => [e.failures, e.successes])).toEqual([
      [1, 0],
      [0, 1],
    ]);
  });

  it('retries a GET answered 503 on another endpoint', async () => {
    const a = await statusBackend(503, 'a');
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url]);
    const dispatcher = balanced(pool);
    const res = await fetch(`${SERVICE}/`, { dispatcher });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('b');
    expect(a.requests).toHaveLength(1);
  });

  it('returns the last response when every endpoint answered a retried status', async () => {
    const a = await statusBackend(503, 'a');
    const b = await statusBackend(502, 'b');
    const pool = makePool([a.url, b.url]);
    const dispatcher = balanced(pool);
    const res = await fetch(`${SERVICE}/`, { dispatcher });
    expect(res.status).toBe(502);
    expect(await res.text()).toBe('b says 502');
    expect(pool.snapshot().totals.failures).toBe(2);
  });

  it('retries a GET whose response headers did not come in time', async () => {
    const silent = await startBackend(() => {});
    const b = await namedBackend('b');
    const pool = makePool([silent.url, b.url]);
    const dispatcher = balanced(pool, { timeouts: { headersMs: 200 } });
    const res = await fetch(`${SERVICE}/`, { dispatcher });
    expect(await res.text()).toBe('b');
  });

  it('does not retry a POST once it was sent', async () => {
    const a = await resettingBackend();
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url]);
    const dispatcher = balanced(pool);
    const error = await rejection(
      request(`${SERVICE}/charge`, { dispatcher, method: 'POST', body: 'charge card' }),
    );
    expect(error.code).toBe('ERR_UPSTREAM_UNAVAILABLE');
    expect(error.message).toMatch(/^upstream connection broke \(\w+\) after 1 attempt$/);
    expect(a.requests).toHaveLength(1);
    expect(b.requests).toHaveLength(0);
  });

  it('does not retry a POST answered 503: the response is returned', async () => {
    const a = await statusBackend(503, 'a');
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url]);
    const dispatcher = balanced(pool);
    const res = await fetch(`${SERVICE}/`, { dispatcher, method: 'POST', body: 'x' });
    expect(res.status).toBe(503);
    await res.text();
    expect(b.requests).toHaveLength(0);
  });

  it('retries a POST carrying an Idempotency-Key, with the same body', async () => {
    const a = await resettingBackend();
    const b = await echoBackend();
    const pool = makePool([a.url, b.url]);
    const dispatcher = balanced(pool);
    const res = await fetch(`${SERVICE}/charge`, {
      dispatcher,
      method: 'POST',
      body: 'charge card',
      headers: { 'Idempotency-Key': 'k-1' },
    });
    expect(await res.text()).toBe('charge card');
    expect(a.requests[0]?.body.toString()).toBe('charge card');
    expect(b.requests[0]?.headers['idempotency-key']).toBe('k-1');
  });

  it('retries a POST with retry.nonIdempotent', async () => {
    const a = await resettingBackend();
    const b = await echoBackend();
    const pool = makePool([a.url, b.url]);
    const dispatcher = balanced(pool, { retry: { nonIdempotent: true } });
    const res = await request(`${SERVICE}/`, { dispatcher, method: 'POST', body: 'again' });
    expect(await res.body.text()).toBe('again');
  });

  it('buffers a small stream body, so a PUT is retried with all of it', async () => {
    const a = await resettingBackend();
    const b = await echoBackend();
    const pool = makePool([a.url, b.url]);
    const dispatcher = balanced(pool);
    const body = Readable.from(['part one, ', 'part two']);
    const res = await request(`${SERVICE}/doc`, { dispatcher, method: 'PUT', body });
    expect(await res.body.text()).toBe('part one, part two');
  });

  it('does not retry a stream body larger than bodyBufferBytes once sending started', async () => {
    const a = await resettingBackend();
    const b = await echoBackend();
    const pool = makePool([a.url, b.url]);
    const dispatcher = balanced(pool, { retry: { bodyBufferBytes: 1024 } });
    const body = Readable.from([Buffer.alloc(4096, 1), Buffer.alloc(4096, 2)]);
    const error = await rejection(request(`${SERVICE}/doc`, { dispatcher, method: 'PUT', body }));
    expect(error.code).toBe('ERR_UPSTREAM_UNAVAILABLE');
    expect(b.requests).toHaveLength(0);
  });

  it('stops retrying when the retry budget is spent', async () => {
    const dead = await refusedUrl();
    const b = await namedBackend('b');
    const pool = makePool([dead, b.url], { selector: new FirstAvailable() });
    // No share of requests, one retry in reserve: the first request may retry, not the second.
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0.1, windowMs: 10_000, now: () => 0 });
    const dispatcher = balanced(pool, { retry: { budget } });
    const first = await request(`${SERVICE}/`, { dispatcher });
    expect(await first.body.text()).toBe('b');
    const error = await rejection(request(`${SERVICE}/`, { dispatcher }));
    expect(error.code).toBe('ERR_UPSTREAM_UNAVAILABLE');
    expect(error.attempts).toBe(1);
    expect(budget.counts).toEqual({ requests: 2, retries: 1 });
  });

  it('gives Retry-After to the pool: the endpoint is ejected, the request goes on', async () => {
    const a = await statusBackend(503, 'a', { 'retry-after': '120' });
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url]);
    const dispatcher = balanced(pool);
    const res = await fetch(`${SERVICE}/`, { dispatcher });
    expect(await res.text()).toBe('b');
    const snapshot = pool.snapshot();
    const [ea] = snapshot.endpoints;
    expect(ea?.state).toBe('ejected');
    // Capped at retry.maxRetryAfterMs (60 s).
    const ejectedFor = (ea?.ejectedUntil ?? 0) - snapshot.at;
    expect(ejectedFor).toBeLessThanOrEqual(60_000);
    expect(ejectedFor).toBeGreaterThan(50_000);
  });

  it('honours Retry-After on a 429 it returns', async () => {
    const a = await statusBackend(429, 'a', { 'retry-after': '5' });
    // One endpoint of one: only a 100 % ejection cap lets a Retry-After take it out.
    const pool = makePool([a.url], { outlierDetection: { maxEjectionPercent: 100 } });
    const dispatcher = balanced(pool);
    const res = await fetch(`${SERVICE}/`, { dispatcher });
    expect(res.status).toBe(429);
    await res.text();
    const [ea] = pool.snapshot().endpoints;
    expect(ea?.state).toBe('ejected');
    expect(ea?.failures).toBe(0);
  });
});

describe('under load', () => {
  it('every GET succeeds while a backend is closed in the middle of concurrent traffic', async () => {
    const backends = [await namedBackend('a'), await namedBackend('b'), await namedBackend('c')];
    const pool = makePool(backends.map((b) => b.url));
    const dispatcher = balanced(pool);
    const bodies: string[] = [];
    let closing: Promise<void> | undefined;
    for (let batch = 0; batch < 6; batch++) {
      const pending = Array.from({ length: 30 }, (_, i) =>
        fetch(`${SERVICE}/${batch}/${i}`, { dispatcher }).then((res) => res.text()),
      );
      // Closed with requests in flight: its connections are cut under them.
      if (batch === 2) closing = closeServer(backends[2]!.server);
      bodies.push(...(await Promise.all(pending)));
    }
    await closing;
    expect(bodies).toHaveLength(180);
    const late = bodies.slice(90);
    expect(late.every((body) => body === 'a' || body === 'b')).toBe(true);
    // Its tries failed (cut or refused) and went elsewhere.
    expect(pool.snapshot().endpoints[2]!.failures).toBeGreaterThan(0);
  });
});

describe('outcomes and the response', () => {
  it('counts a 5xx as a failure and a 4xx as a success', async () => {
    const a = await statusBackend(500, 'a');
    const b = await statusBackend(404, 'b');
    const pool = makePool([a.url, b.url]);
    const dispatcher = balanced(pool);
    expect((await fetch(`${SERVICE}/`, { dispatcher })).status).toBe(500);
    expect((await fetch(`${SERVICE}/`, { dispatcher })).status).toBe(404);
    expect(pool.snapshot().endpoints.map((e) => [e.failures, e.successes])).toEqual([
      [1, 0],
      [0, 1],
    ]);
  });

  it('reports the time to response headers as latency, not the time to the end of the body', async () => {
    // The pool runs on a clock the backend moves: 5 ms to headers, then 1 s of body.
    const clock = new FakeClock();
    let finish: (() => void) | undefined;
    const a = await startBackend((_req, res) => {
      clock.advance(5);
      res.writeHead(200);
      res.write('first');
      finish = () => {
        clock.advance(1_000);
        res.end(', last');
      };
    });
    const pool = makePool([a.url], { now: clock.now });
    const dispatcher = balanced(pool);
    const res = await request(`${SERVICE}/`, { dispatcher });
    const reader = res.body[Symbol.asyncIterator]();
    await reader.next();
    finish!();
    for (let step = await reader.next(); step.done !== true; step = await reader.next()) {}
    const endpoint = pool.snapshot().endpoints[0]!;
    expect(endpoint.latency).toBe(5);
    expect(endpoint.successes).toBe(1);
  });

  it('never retries once the response started: a mid-body failure reaches the caller', async () => {
    const a = await startBackend((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url]);
    const dispatcher = balanced(pool);
    const res = await request(`${SERVICE}/`, { dispatcher });
    expect(res.statusCode).toBe(200);
    const error = await rejection(res.body.text());
    expect(error.code).toBe('UND_ERR_SOCKET');
    expect(b.requests).toHaveLength(0);
    expect(pool.snapshot().endpoints[0]?.failures).toBe(1);
  });

  it('streams a large response under backpressure', async () => {
    const chunk = Buffer.alloc(64 * 1024, 7);
    const a = await startBackend((_req, res) => {
      res.writeHead(200, { 'content-length': String(chunk.length * 64) });
      let sent = 0;
      const pump = (): void => {
        while (sent < 64) {
          sent++;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    const pool = makePool([a.url]);
    const dispatcher = balanced(pool);
    const res = await request(`${SERVICE}/big`, { dispatcher });
    let bytes = 0;
    for await (const part of res.body) {
      bytes += (part as Buffer).length;
      // A slow reader: undici is paused and resumed through the stable controller.
      if (bytes % (1024 * 1024) === 0) await new Promise((r) => setTimeout(r, 5));
    }
    expect(bytes).toBe(chunk.length * 64);
  });
});

describe('upgrades', () => {
  it('hands a 101 and its socket to the caller', async () => {
    const a = await namedBackend('a');
    a.server.on('upgrade', (req, socket) => {
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: echo\r\nx-path: ${req.url}\r\n\r\n`,
      );
      socket.pipe(socket);
    });
    const pool = makePool([a.url]);
    const dispatcher = balanced(pool);
    const { headers, socket } = await dispatcher.upgrade({ path: '/tunnel', protocol: 'echo' });
    expect(headers['x-path']).toBe('/tunnel');
    socket.write('ping');
    const [echoed] = await once(socket, 'data');
    expect(String(echoed)).toBe('ping');
    socket.destroy();
    expect(pool.snapshot().endpoints[0]?.successes).toBe(1);
  });
});

describe('abort', () => {
  it("aborting the caller's signal before the response aborts the upstream request", async () => {
    const closed: boolean[] = [];
    const held: ServerResponse[] = [];
    const a = await startBackend((_req, res) => {
      held.push(res);
      res.on('close', () => closed.push(true));
    });
    const pool = makePool([a.url]);
    const dispatcher = balanced(pool);
    const controller = new AbortController();
    const pending = fetch(`${SERVICE}/slow`, { dispatcher, signal: controller.signal });
    await eventually(() => held.length === 1);
    expect(pool.snapshot().totals.inflight).toBe(1);
    controller.abort();
    const error = await rejection(pending);
    expect(error.name).toBe('AbortError');
    await eventually(() => closed.length === 1);
    const [ea] = pool.snapshot().endpoints;
    expect(ea?.inflight).toBe(0);
    expect(ea?.failures).toBe(0);
  });

  it('aborting mid-body releases the lease without a failure', async () => {
    const closed: boolean[] = [];
    const a = await startBackend((_req, res) => {
      res.on('close', () => closed.push(true));
      res.writeHead(200);
      res.write('first part');
    });
    const pool = makePool([a.url]);
    const dispatcher = balanced(pool);
    const controller = new AbortController();
    const res = await request(`${SERVICE}/`, { dispatcher, signal: controller.signal });
    const reader = res.body[Symbol.asyncIterator]();
    await reader.next();
    controller.abort(new Error('caller gave up'));
    const error = await rejection(reader.next());
    expect(error.message).toBe('caller gave up');
    await eventually(() => closed.length === 1);
    expect(pool.snapshot().endpoints[0]?.failures).toBe(0);
  });

  it('an abort while the body is being read ends the request and destroys the body', async () => {
    const a = await echoBackend();
    const pool = makePool([a.url]);
    const dispatcher = balanced(pool);
    const body = new Readable({ read() {} });
    body.push('a start, and then nothing');
    const controller = new AbortController();
    const pending = request(`${SERVICE}/`, {
      dispatcher,
      method: 'PUT',
      body,
      signal: controller.signal,
    });
    await new Promise((r) => setTimeout(r, 20));
    controller.abort(new Error('too slow'));
    expect((await rejection(pending)).message).toBe('too slow');
    await eventually(() => body.destroyed);
    expect(a.requests).toHaveLength(0);
  });

  it('200 requests aborted at assorted moments leave no lease held and no socket open', async () => {
    const a = await startBackend((_req, res) => {
      res.writeHead(200);
      res.write('part');
      setTimeout(() => res.end('rest'), 5);
    });
    const b = await resettingBackend();
    const pool = makePool([a.url, b.url, await refusedUrl()]);
    const dispatcher = balanced(pool);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 200 }, async (_, i) => {
        const controller = new AbortController();
        setTimeout(() => controller.abort(), i % 7);
        const res = await request(`${SERVICE}/${i}`, { dispatcher, signal: controller.signal });
        return res.body.text();
      }),
    );
    expect(outcomes).toHaveLength(200);
    await eventually(() => pool.snapshot().totals.inflight === 0);
    await dispatcher.close();
    // Closing the dispatcher closed every connection to the backends.
    const open = () =>
      new Promise<number>((resolve) => a.server.getConnections((_e, n) => resolve(n)));
    for (let i = 0; i < 100 && (await open()) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await open()).toBe(0);
  });

  it('an abort before the request went out ends it without a try', async () => {
    const pool = makePool(['http://127.0.0.1:9']);
    const dispatcher = balanced(pool);
    const pending = request(`${SERVICE}/`, {
      dispatcher,
      signal: AbortSignal.abort(new Error('never mind')),
    });
    const error = await rejection(pending);
    expect(error.message).toBe('never mind');
    expect(pool.snapshot().totals.failures).toBe(0);
  });
});

describe('balancedInterceptor', () => {
  it('balances undici request through a composed Agent', async () => {
    const a = await namedBackend('a');
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url]);
    const agent = new Agent();
    onTestFinished(() => agent.close());
    const dispatcher = agent.compose(balancedInterceptor(pool));
    const bodies: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await request(`${SERVICE}/x?i=${i}`, { dispatcher });
      bodies.push(await res.body.text());
    }
    expect(bodies).toEqual(['a', 'b', 'a', 'b']);
    expect(a.requests.map((r) => [r.url, r.headers.host])).toEqual([
      ['/x?i=0', `127.0.0.1:${a.port}`],
      ['/x?i=2', `127.0.0.1:${a.port}`],
    ]);
    expect(pool.snapshot().totals.inflight).toBe(0);
  });

  it('fails over with the same rules', async () => {
    const a = await resettingBackend();
    const b = await echoBackend();
    const pool = makePool([await refusedUrl(), a.url, b.url]);
    const agent = new Agent();
    onTestFinished(() => agent.close());
    const dispatcher = agent.compose(balancedInterceptor(pool, { timeouts: { headersMs: 5_000 } }));
    const res = await fetch(`${SERVICE}/`, { dispatcher, method: 'PUT', body: 'v2' });
    expect(await res.text()).toBe('v2');
    expect(pool.snapshot().totals).toMatchObject({ inflight: 0, failures: 2, successes: 1 });
  });
});

describe('lifecycle', () => {
  it('close() lets requests in flight finish, then refuses new ones', async () => {
    let release: (() => void) | undefined;
    const a = await startBackend((_req, res) => {
      release = () => res.end('late');
    });
    const pool = makePool([a.url]);
    const dispatcher = createBalancedDispatcher(pool);
    const pending = request(`${SERVICE}/`, { dispatcher });
    await eventually(() => release !== undefined);
    const closing = dispatcher.close();
    expect(dispatcher.closed).toBe(true);
    const refused = await rejection(request(`${SERVICE}/`, { dispatcher }));
    expect(refused.code).toBe('UND_ERR_CLOSED');
    release!();
    expect(await (await pending).body.text()).toBe('late');
    await closing;
    expect(pool.snapshot().totals.inflight).toBe(0);
  });

  it('destroy() aborts requests in flight', async () => {
    const a = await startBackend(() => {});
    const pool = makePool([a.url]);
    const dispatcher = createBalancedDispatcher(pool);
    const pending = request(`${SERVICE}/`, { dispatcher });
    await eventually(() => a.requests.length === 1);
    await dispatcher.destroy();
    const error = await rejection(pending);
    expect(error.code).toBe('ERR_UPSTREAM_UNAVAILABLE');
    expect(dispatcher.destroyed).toBe(true);
    expect(pool.snapshot().totals.inflight).toBe(0);
  });
});

describe('options', () => {
  it('rejects bad options, naming them', async () => {
    const pool = makePool(['http://127.0.0.1:9']);
    const make = (options: unknown) =>
      createBalancedDispatcher(pool, options as BalancedDispatcherOptions);
    expect(() => make({ retries: 3 })).toThrow(
      /^createBalancedDispatcher got an unknown option "retries"/,
    );
    expect(() => make({ retry: { attempts: 0 } })).toThrow(RangeError);
    expect(() => make({ retry: { attempts: 0 } })).toThrow(/retry\.attempts must be .*, got 0$/);
    expect(() => make({ retry: { statuses: [700] } })).toThrow(/retry\.statuses\[\] .*got 700/);
    expect(() => make({ retry: { bodyBufferBytes: -1 } })).toThrow(/bodyBufferBytes.*got -1/);
    expect(() => make({ timeouts: { connectMs: -1 } })).toThrow(
      /^timeouts\.connectMs must be .*, got -1$/,
    );
    expect(() => make({ timeouts: { requestMs: 5 } })).toThrow(/unknown option "requestMs"/);
    expect(() => make({ connections: 0 })).toThrow(/^connections must be .*, got 0$/);
    expect(() => make({ keepAliveTimeoutMs: 0 })).toThrow(/^keepAliveTimeoutMs must be .*, got 0$/);
    expect(() => make({ key: 'tenant' })).toThrow(/^key must be a function, got "tenant"$/);
    expect(() => make({ now: 5 })).toThrow(TypeError);
    expect(() => createBalancedDispatcher({} as Pool)).toThrow(
      /^createBalancedDispatcher needs a Pool as its first argument, got \{\} \(no acquire\(\)\)$/,
    );
  });

  it('rejects bad interceptor options, naming them', () => {
    const pool = makePool(['http://127.0.0.1:9']);
    expect(() => balancedInterceptor(pool, { connections: 2 } as never)).toThrow(
      /^balancedInterceptor got an unknown option "connections"/,
    );
    expect(() => balancedInterceptor(pool, { timeouts: { connectMs: 1 } } as never)).toThrow(
      /unknown option "connectMs"/,
    );
    expect(() => balancedInterceptor(pool, { timeouts: { idleMs: Number.NaN } })).toThrow(
      /^timeouts\.idleMs must be .*, got NaN$/,
    );
    expect(() => balancedInterceptor(null as never)).toThrow(/needs a Pool/);
  });

  it('hands an invalid request to undici, which refuses it; the endpoint is not blamed', async () => {
    const a = await namedBackend('a');
    const pool = makePool([a.url]);
    const dispatcher = balanced(pool);
    const error = await rejection(
      request(`${SERVICE}/`, { dispatcher, headers: { 'bad header': 'x' } } as never),
    );
    expect(error.code).toBe('UND_ERR_INVALID_ARG');
    expect(pool.snapshot().totals.failures).toBe(0);
    expect(a.requests).toHaveLength(0);
  });

  it('is a Dispatcher', () => {
    const pool = makePool(['http://127.0.0.1:9']);
    const dispatcher: Dispatcher = balanced(pool);
    expect(typeof dispatcher.compose).toBe('function');
  });
});
