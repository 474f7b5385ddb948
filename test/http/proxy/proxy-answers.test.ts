import { describe, expect, it } from 'vitest';
import {
  isBodyConsumedError,
  isNoEndpointError,
  isUpstreamTimeoutError,
  isUpstreamUnavailableError,
} from '../../../src/errors.js';
import { createProxyHandler } from '../../../src/http/index.js';
import {
  failOnProcessProblems,
  makePool,
  namedBackend,
  refusedUrl,
  send,
  startBackend,
  startProxy,
} from '../proxy-support.js';

failOnProcessProblems();

describe('answers of its own', () => {
  it('503 when no endpoint is eligible', async () => {
    const a = await namedBackend('a');
    const pool = makePool([a.url], { panicThreshold: 0 });
    pool.setHealth(a.url, false);
    const { url } = await startProxy(pool);
    const reply = await send(url);
    expect(reply.status).toBe(503);
    expect(reply.headers['content-type']).toBe('text/plain; charset=utf-8');
    // The cause, not the pool's inner counts.
    expect(reply.body).toBe('503 Service Unavailable: no endpoint is eligible\n');
    expect(a.requests).toHaveLength(0);
  });

  it('503 for an empty pool and after close()', async () => {
    const pool = makePool([]);
    const { url, proxy } = await startProxy(pool);
    expect((await send(url)).status).toBe(503);
    const a = await namedBackend('a');
    pool.add(a.url);
    expect((await send(url)).body).toBe('a');
    await proxy.close();
    const reply = await send(url);
    expect(reply.status).toBe(503);
    expect(reply.body).toMatch(/the proxy is closed/);
  });

  it('502 when every try failed, naming the cause and not the endpoints', async () => {
    const dead = await refusedUrl();
    const pool = makePool([dead]);
    const { url } = await startProxy(pool);
    const reply = await send(url);
    expect(reply.status).toBe(502);
    expect(reply.body).toBe(
      '502 Bad Gateway: upstream connection failed (ECONNREFUSED) after 1 attempt\n',
    );
    expect(reply.body).not.toContain('127.0.0.1');
  });

  it('504 when the overall deadline passes before the response headers', async () => {
    const slow = await startBackend(() => {});
    const pool = makePool([slow.url]);
    const { url } = await startProxy(pool, { timeouts: { requestMs: 150 } });
    const reply = await send(url);
    expect(reply.status).toBe(504);
    expect(reply.body).toMatch(/no response within 150 ms/);
  });

  it('the deadline does not cut a response whose headers are out', async () => {
    const backend = await startBackend((_req, res) => {
      res.writeHead(200);
      res.write('a');
      setTimeout(() => res.end('b'), 300);
    });
    const { url } = await startProxy(makePool([backend.url]), { timeouts: { requestMs: 100 } });
    const reply = await send(url);
    expect(reply.body).toBe('ab');
  });

  it('counts upstream 5xx as failures for the pool and 4xx as successes', async () => {
    const backend = await startBackend((req, res) => {
      res.writeHead(req.url === '/bad' ? 500 : 404);
      res.end();
    });
    const pool = makePool([backend.url]);
    const { url } = await startProxy(pool);
    await send(url, { path: '/bad' });
    await send(url, { path: '/missing' });
    await send(url, { path: '/missing' });
    const endpoint = pool.snapshot().endpoints[0]!;
    expect(endpoint.failures).toBe(1);
    expect(endpoint.successes).toBe(2);
  });
});

describe('onError', () => {
  it('lets the application answer, with a coded error', async () => {
    const errors: Error[] = [];
    const dead = await refusedUrl();
    const { url } = await startProxy(makePool([dead]), {
      onError(error, _req, res) {
        errors.push(error);
        res.writeHead(599, { 'content-type': 'text/html' });
        res.end('<h1>custom</h1>');
      },
    });
    const reply = await send(url);
    expect(reply.status).toBe(599);
    expect(reply.body).toBe('<h1>custom</h1>');
    expect(isUpstreamUnavailableError(errors[0])).toBe(true);
    expect((errors[0] as { attempts?: number }).attempts).toBe(1);
  });

  it('receives each kind of error', async () => {
    const kinds: string[] = [];
    const onError = (error: Error, _req: unknown, res: import('node:http').ServerResponse) => {
      kinds.push(
        isNoEndpointError(error)
          ? 'none'
          : isUpstreamTimeoutError(error)
            ? 'timeout'
            : isBodyConsumedError(error)
              ? 'consumed'
              : 'other',
      );
      res.end();
    };
    const empty = await startProxy(makePool([]), { onError });
    await send(empty.url);
    const slow = await startBackend(() => {});
    const timing = await startProxy(makePool([slow.url]), {
      onError,
      timeouts: { headersMs: 100 },
      retry: { attempts: 1 },
    });
    await send(timing.url);
    expect(kinds).toEqual(['none', 'timeout']);
  });

  it('falls back to the built-in answer when the hook throws or rejects', async () => {
    const dead = await refusedUrl();
    const throwing = await startProxy(makePool([dead]), {
      onError() {
        throw new Error('bug in the hook');
      },
    });
    expect((await send(throwing.url)).status).toBe(502);
    const rejecting = await startProxy(makePool([dead]), {
      onError: async () => {
        throw new Error('async bug');
      },
    });
    expect((await send(rejecting.url)).status).toBe(502);
  });
});

describe('options', () => {
  it('rejects a missing pool and bad options, naming them', () => {
    const pool = makePool([]);
    expect(() => createProxyHandler({} as never)).toThrow(/needs a Pool/);
    expect(() => createProxyHandler(pool, { retries: 3 } as never)).toThrow(
      /createProxyHandler got an unknown option "retries"/,
    );
    expect(() => createProxyHandler(pool, { retry: { attempts: 0 } })).toThrow(
      /retry\.attempts must be an integer >= 1/,
    );
    expect(() => createProxyHandler(pool, { timeouts: { connectMs: -1 } })).toThrow(
      /timeouts\.connectMs must be a finite number >= 0 and <= 2147483647, got -1/,
    );
    expect(() => createProxyHandler(pool, { timeouts: { idle: 5 } as never })).toThrow(
      /timeouts got an unknown option "idle"/,
    );
    expect(() => createProxyHandler(pool, { trustProxy: 'yes' as never })).toThrow(
      /^trustProxy must list IP addresses or CIDRs, got "yes" in "yes"$/,
    );
    expect(() => createProxyHandler(pool, { trustProxy: {} as never })).toThrow(
      /^trustProxy must be a boolean, a hop count, addresses\/CIDRs or a function, got \{\}$/,
    );
    expect(() => createProxyHandler(pool, { trustProxy: -1 })).toThrow(
      /^trustProxy must be a hop count \(an integer >= 0\), got -1$/,
    );
    expect(() => createProxyHandler(pool, { changeOrigin: 1 as never })).toThrow(
      /changeOrigin must be a boolean, got 1/,
    );
    expect(() => createProxyHandler(pool, { xForwarded: null as never })).toThrow(
      /xForwarded must be a boolean/,
    );
    expect(() => createProxyHandler(pool, { forwarded: 'no' as never })).toThrow(
      /forwarded must be a boolean/,
    );
    expect(() => createProxyHandler(pool, { onError: 'page' as never })).toThrow(
      /onError must be a function, got "page"/,
    );
    expect(() => createProxyHandler(pool, { connections: 0 })).toThrow(
      /connections must be an integer >= 1, got 0/,
    );
    expect(() => createProxyHandler(pool, { keepAliveTimeoutMs: 0 })).toThrow(
      /keepAliveTimeoutMs .* got 0/,
    );
    expect(() => createProxyHandler(pool, { now: 1 as never })).toThrow(/now must be a function/);
    expect(() => createProxyHandler(pool, { affinity: { by: 'port' } as never })).toThrow(
      /affinity\.by must be "ip", got "port"/,
    );
    expect(() => createProxyHandler(pool, { affinity: { cookie: 'a b' } })).toThrow(
      /affinity\.cookie name must be a cookie token, got "a b"/,
    );
    expect(() =>
      createProxyHandler(pool, { affinity: { cookie: 'sy', by: 'ip' } as never }),
    ).toThrow(/exactly one of "cookie", "by" or "key"/);
    expect(() => createProxyHandler(pool, { affinity: { key: 'user' } as never })).toThrow(
      /affinity\.key must be a function, got "user"/,
    );
    expect(() =>
      createProxyHandler(pool, { affinity: { cookie: { name: 'sy', sameSite: 'lax' } as never } }),
    ).toThrow(/sameSite must be "Strict", "Lax" or "None", got "lax"/);
    expect(() =>
      createProxyHandler(pool, { affinity: { cookie: { name: 'sy', maxAgeSeconds: -1 } } }),
    ).toThrow(/affinity\.cookie\.maxAgeSeconds .* got -1/);
  });
});
