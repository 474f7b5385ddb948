import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import compress from '@fastify/compress';
import Fastify, { type FastifyInstance } from 'fastify';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  type SwitchyardPoolOptions,
  type SwitchyardProxyOptions,
  switchyardProxy,
} from '../../src/fastify/index.js';
import { createProxyHandler } from '../../src/http/index.js';
import type { Pool } from '../../src/pool/pool.js';
import { echoOnce, upgradeBackend, upgradeRequest } from '../http/proxy/upgrade-support.js';
import {
  type Backend,
  eventually,
  failOnProcessProblems,
  makePool,
  refusedUrl,
  send,
  startBackend,
} from '../http/proxy-support.js';
import {
  describingBackend,
  hashingBackend,
  silentBackend,
  streamedPost,
  uploadChunks,
} from '../integration/framework-support.js';

failOnProcessProblems();

type PluginOptions = Omit<SwitchyardPoolOptions, 'pool'>;

/** A Fastify app with `switchyardProxy` over a pool of `urls` under `/api`. */
async function app(
  urls: readonly string[],
  options: PluginOptions = {},
  setup?: (app: FastifyInstance) => Promise<void> | void,
): Promise<{ url: string; app: FastifyInstance; pool: Pool }> {
  const pool = makePool(urls);
  const fastify = Fastify();
  onTestFinished(() => fastify.close());
  await setup?.(fastify);
  await fastify.register(switchyardProxy, { pool, prefix: '/api', ...options });
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  const address = fastify.server.address();
  if (address === null || typeof address === 'string') throw new Error('not on TCP');
  return { url: `http://127.0.0.1:${address.port}`, app: fastify, pool };
}

/** A GET whose body is kept as bytes (compressed bodies are not text). */
function getBytes(
  url: string,
  headers: http.OutgoingHttpHeaders = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** A backend answering 8 KiB of text with its own Content-Length. */
function textBackend(): Promise<Backend> {
  const text = 'switchyard '.repeat(800);
  return startBackend((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': text.length });
    res.end(text);
  });
}

describe('switchyard/fastify: onSend, compression', () => {
  it('runs onSend hooks on the proxied response (headers and status as the endpoint sent them)', async () => {
    const a = await describingBackend('a');
    const seen: string[] = [];
    const { url } = await app([a.url], {}, (fastify) => {
      fastify.addHook('onSend', async (request, reply, payload) => {
        seen.push(`${request.url} ${reply.statusCode} ${reply.getHeader('content-type')}`);
        reply.header('x-through', 'onSend');
        return payload;
      });
    });
    const reply = await send(url, { path: '/api/users' });
    expect(reply.status).toBe(200);
    expect(reply.headers['x-through']).toBe('onSend');
    expect(JSON.parse(reply.body)).toMatchObject({ backend: 'a', url: '/users' });
    expect(seen).toEqual(['/users 200 application/json']);
  });

  it('lets an onSend hook replace the body; the upstream response is let go', async () => {
    const a = await describingBackend('a');
    const { url, pool } = await app([a.url], {}, (fastify) => {
      fastify.addHook('onSend', async (_request, reply, payload) => {
        (payload as NodeJS.ReadableStream & { destroy(): void }).destroy();
        reply.header('content-type', 'text/plain');
        return 'replaced';
      });
    });
    const reply = await send(url, { path: '/api/x' });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('replaced');
    await eventually(() => pool.snapshot().totals.inflight === 0);
    expect(pool.snapshot().totals.failures).toBe(0);
  });

  it('compresses proxied responses with @fastify/compress when the client accepts it', async () => {
    const backend = await textBackend();
    const { url } = await app([backend.url], {}, async (fastify) => {
      await fastify.register(compress, { global: true, threshold: 1024 });
    });
    const gz = await getBytes(`${url}/api/text`, { 'accept-encoding': 'gzip' });
    expect(gz.status).toBe(200);
    expect(gz.headers['content-encoding']).toBe('gzip');
    // The endpoint's length described the uncompressed bytes: not sent with the gzip body.
    expect(gz.headers['content-length']).toBeUndefined();
    expect(gunzipSync(gz.body).toString()).toBe('switchyard '.repeat(800));
    expect(gz.body.length).toBeLessThan(1000);
    const plain = await getBytes(`${url}/api/text`, { 'accept-encoding': 'identity' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers['content-length']).toBe('8800');
    expect(plain.body.toString()).toBe('switchyard '.repeat(800));
  });

  it('forwards HEAD, 204 and 304 without a body', async () => {
    const backend = await startBackend((req, res) => {
      if (req.url === '/none') res.writeHead(204).end();
      else if (req.url === '/same') res.writeHead(304, { etag: '"v1"' }).end();
      else res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 5 }).end('hello');
    });
    const { url } = await app([backend.url]);
    const head = await send(url, { method: 'HEAD', path: '/api/x' });
    expect([head.status, head.headers['content-length'], head.body]).toEqual([200, '5', '']);
    const none = await send(url, { path: '/api/none' });
    expect([none.status, none.body]).toEqual([204, '']);
    const same = await send(url, { path: '/api/same' });
    expect([same.status, same.headers.etag, same.body]).toEqual([304, '"v1"', '']);
  });

  it('streams server-sent events as they arrive', async () => {
    let push: ((text: string) => void) | undefined;
    const backend = await startBackend(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: one\n\n');
        push = (text) => (text === '' ? res.end() : res.write(text));
      },
      { streaming: true },
    );
    const { url } = await app([backend.url]);
    const events: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      http
        .get(`${url}/api/events`, { agent: false }, (res) => {
          res.setEncoding('utf8');
          res.on('data', (c: string) => events.push(c));
          res.on('end', resolve);
        })
        .on('error', reject);
    });
    await eventually(() => events.join('') === 'data: one\n\n');
    push!('data: two\n\n');
    await eventually(() => events.join('') === 'data: one\n\ndata: two\n\n');
    push!('');
    await done;
  });

  it('ends the client response abruptly when the endpoint fails mid-body', async () => {
    const backend = await startBackend(
      (_req, res) => {
        res.writeHead(200, { 'content-length': 1000 });
        res.write('x'.repeat(10));
        setTimeout(() => res.socket?.destroy(), 20);
      },
      { streaming: true },
    );
    const { url, pool } = await app([backend.url]);
    await expect(send(url, { path: '/api/broken' })).rejects.toThrow();
    await eventually(() => pool.snapshot().totals.inflight === 0);
  });
});

describe('switchyard/fastify: bodyLimit, counted as the body streams', () => {
  it('answers 413 for a Content-Length over the limit, before forwarding anything', async () => {
    const a = await describingBackend('a');
    const { url } = await app([a.url], { bodyLimit: 1024 });
    const reply = await send(url, { method: 'POST', path: '/api/up', body: Buffer.alloc(2048) });
    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.body)).toMatchObject({ code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    expect(a.requests).toHaveLength(0);
    const small = await send(url, { method: 'POST', path: '/api/up', body: Buffer.alloc(1024) });
    expect(small.status).toBe(200);
  });

  it('cuts a chunked body off when it grows past the limit: 413, upstream aborted, no blame', async () => {
    const backend = await hashingBackend();
    const { url, pool } = await app([backend.url], { bodyLimit: 512 * 1024 });
    // Streamed (past bodyBufferBytes) and reaching the endpoint before it is too large.
    const reply = await streamedPost(
      `${url}/api/upload`,
      uploadChunks(1024 * 1024),
      () => backend.received() > 0,
    );
    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.body).code).toBe('FST_ERR_CTP_BODY_TOO_LARGE');
    // Cut within one read of the limit (the chunk that crosses it may still go out); the
    // endpoint never gets a whole body over the limit: its request is aborted.
    expect(backend.received()).toBeLessThanOrEqual(512 * 1024 + 64 * 1024);
    await eventually(() => pool.snapshot().totals.inflight === 0);
    expect(pool.snapshot().totals.failures).toBe(0);
  });

  it('cuts off a small chunked body that the proxy buffers, too', async () => {
    const a = await describingBackend('a');
    const { url } = await app([a.url], { bodyLimit: 100 });
    const reply = await streamedPost(
      `${url}/api/upload`,
      [Buffer.alloc(60), Buffer.alloc(60)],
      () => true,
    );
    expect(reply.status).toBe(413);
    expect(a.requests).toHaveLength(0);
  });

  it('uses the instance’s bodyLimit by default, and setErrorHandler shapes the 413', async () => {
    const a = await describingBackend('a');
    const pool = makePool([a.url]);
    const fastify = Fastify({ bodyLimit: 1000 });
    onTestFinished(() => fastify.close());
    fastify.setErrorHandler(async (error: { code?: string }, _request, reply) => {
      await reply.code(413).send({ refused: error.code });
    });
    await fastify.register(switchyardProxy, { pool });
    const reply = await fastify.inject({ method: 'PUT', url: '/x', payload: Buffer.alloc(1001) });
    expect(reply.statusCode).toBe(413);
    expect(reply.json()).toEqual({ refused: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    const fits = await fastify.inject({ method: 'PUT', url: '/x', payload: Buffer.alloc(1000) });
    expect(fits.statusCode).toBe(200);
    expect(fits.json()).toMatchObject({ bytes: 1000, url: '/x' });
  });
});

describe('switchyard/fastify: options', () => {
  it('answers failures through onError with the Fastify reply', async () => {
    const dead = await refusedUrl();
    const { url } = await app([dead], {
      onError: async (error, request, reply) => {
        await reply.code(502).send({ error: (error as { code?: string }).code, url: request.url });
      },
    });
    const reply = await send(url, { path: '/api/x' });
    expect(reply.status).toBe(502);
    expect(JSON.parse(reply.body)).toEqual({ error: 'ERR_UPSTREAM_UNAVAILABLE', url: '/x' });
  });

  it('forwards upgrades under the prefix with websocket: true, prefix stripped', async () => {
    const ws = await upgradeBackend('a');
    const { url, pool } = await app([ws.url], { websocket: true });
    const { res, socket } = await upgradeRequest(`${url}/api/socket`);
    expect(res.statusCode).toBe(101);
    expect(await echoOnce(socket!, 'ping')).toBe('a:ping');
    expect(ws.upgrades.map((r) => r.url)).toEqual(['/socket']);
    socket!.destroy();
    await eventually(() => pool.snapshot().totals.inflight === 0);
  });

  it('closes the proxy it made when the app closes (requests in flight first)', async () => {
    const backend = await silentBackend();
    const { url, app: fastify, pool } = await app([backend.url]);
    const pending = send(url, { path: '/api/slow' }).catch((error: unknown) => error);
    await eventually(() => backend.requests.length === 1);
    const closed = fastify.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(pool.snapshot().totals.inflight).toBe(1);
    backend.server.closeAllConnections();
    await closed;
    await pending;
    expect(pool.snapshot().totals.inflight).toBe(0);
  });

  it('carries fastify-plugin’s metadata, yet stays encapsulated', async () => {
    const meta = switchyardProxy as unknown as Record<symbol, unknown>;
    expect(meta[Symbol.for('fastify.display-name')]).toBe('switchyard');
    expect(meta[Symbol.for('plugin-meta')]).toEqual({ name: 'switchyard', fastify: '5.x' });
    expect(meta[Symbol.for('skip-override')]).toBeUndefined();
    const { app: fastify } = await app(['http://127.0.0.1:1']);
    // Fastify names it in its plugin tree.
    expect(fastify.printPlugins()).toMatch(/switchyard/);
  });

  it('refuses bad options at registration, naming them', async () => {
    const pool = makePool(['http://127.0.0.1:1']);
    const proxy = createProxyHandler(pool);
    onTestFinished(() => proxy.close());
    const cases: [unknown, RegExp][] = [
      [{}, /needs a pool/],
      [{ pool, proxy }, /a pool or a proxy, not both/],
      [{ proxy: () => {} }, /proxy must be a handler made by createProxyHandler/],
      [{ proxy, retry: { attempts: 2 } }, /proxy option "retry" with a ready-made proxy/],
      [{ pool, bodyLimit: -1 }, /bodyLimit must be .*got -1/],
      [{ pool, bodyLimit: 1.5 }, /bodyLimit/],
      [{ pool, websocket: 'yes' }, /websocket must be a boolean/],
      [{ pool, upgrade: 'yes' }, /upgrade options must be an object/],
      [{ pool, onError: 42 }, /onError must be a function/],
      [{ pool, retries: 3 }, /unknown option "retries"/],
    ];
    for (const [options, message] of cases) {
      const fastify = Fastify();
      await expect(
        fastify.register(switchyardProxy, options as SwitchyardProxyOptions).ready(),
      ).rejects.toThrow(message);
      await fastify.close();
    }
  });
});
