import Fastify, { type FastifyInstance } from 'fastify';
import { describe, expect, it, onTestFinished } from 'vitest';
import { switchyardProxy } from '../../src/fastify/index.js';
import { createProxyHandler, type ProxyHandler } from '../../src/http/index.js';
import type { Pool } from '../../src/pool/pool.js';
import { echoOnce, upgradeBackend, upgradeRequest } from '../http/proxy/upgrade-support.js';
import {
  eventually,
  failOnProcessProblems,
  makePool,
  refusedUrl,
  send,
} from '../http/proxy-support.js';
import {
  abandonRequest,
  type Described,
  describingBackend,
  hashingBackend,
  sha256,
  silentBackend,
  streamedPost,
  uploadChunks,
} from './framework-support.js';

failOnProcessProblems();

/** A Fastify app with the proxy under `/api` (after `setup`), listening on 127.0.0.1. */
async function fastifyApp(
  urls: readonly string[],
  setup?: (app: FastifyInstance) => void,
  bodyLimit?: number,
): Promise<{ url: string; app: FastifyInstance; pool: Pool; proxy: ProxyHandler }> {
  const pool = makePool(urls);
  const proxy = createProxyHandler(pool);
  const app = Fastify();
  onTestFinished(async () => {
    await app.close();
    await proxy.close({ force: true });
  });
  setup?.(app);
  await app.register(switchyardProxy, {
    proxy,
    prefix: '/api',
    ...(bodyLimit === undefined ? {} : { bodyLimit }),
  });
  app.server.on('upgrade', proxy.upgrade);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('not on TCP');
  return { url: `http://127.0.0.1:${address.port}`, app, pool, proxy };
}

function described(body: string): Described {
  return JSON.parse(body) as Described;
}

describe('Fastify 5 (switchyard/fastify with a ready-made proxy)', () => {
  it('proxies under the prefix, stripped, query kept; other routes stay Fastify’s', async () => {
    const a = await describingBackend('a');
    const b = await describingBackend('b');
    const { url } = await fastifyApp([a.url, b.url], (app) => {
      app.get('/health', async () => ({ ok: true }));
    });
    expect(JSON.parse((await send(url, { path: '/health' })).body)).toEqual({ ok: true });
    expect(described((await send(url, { path: '/api/users?page=2' })).body)).toMatchObject({
      backend: 'a',
      method: 'GET',
      url: '/users?page=2',
    });
    expect(described((await send(url, { path: '/api' })).body)).toMatchObject({
      backend: 'b',
      url: '/',
    });
    expect(described((await send(url, { path: '/api?q=1' })).body).url).toBe('/?q=1');
    expect(described((await send(url, { path: '/api/' })).body).url).toBe('/');
    expect((await send(url, { path: '/elsewhere' })).status).toBe(404);
    expect((await send(url, { path: '/apix' })).status).toBe(404);
  });

  it('forwards every method Fastify routes, HEAD and OPTIONS included', async () => {
    const a = await describingBackend('a');
    const { url } = await fastifyApp([a.url]);
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'DELETE', 'PUT', 'PATCH', 'POST']) {
      const reply = await send(url, { method, path: `/api/${method.toLowerCase()}` });
      expect(reply.status, method).toBe(200);
    }
    expect(a.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /get',
      'HEAD /head',
      'OPTIONS /options',
      'DELETE /delete',
      'PUT /put',
      'PATCH /patch',
      'POST /post',
    ]);
  });

  it('leaves the body unparsed: invalid JSON and odd types go through byte for byte', async () => {
    const a = await describingBackend('a');
    const { url } = await fastifyApp([a.url], (app) => {
      app.post('/local', async (request) => ({ parsed: request.body }));
    });
    const broken = '{"item": "book",';
    const json = await send(url, {
      method: 'POST',
      path: '/api/orders',
      body: broken,
      headers: { 'content-type': 'application/json' },
    });
    expect(json.status).toBe(200);
    expect(a.requests[0]!.body.toString()).toBe(broken);
    expect(described(json.body).contentType).toBe('application/json');
    const odd = await send(url, {
      method: 'PUT',
      path: '/api/blob',
      body: 'abc',
      headers: { 'content-type': 'application/x-something' },
    });
    expect(odd.status).toBe(200);
    expect(a.requests[1]!.body.toString()).toBe('abc');
    const untyped = await send(url, { method: 'POST', path: '/api/raw', body: 'no type' });
    expect(untyped.status).toBe(200);
    expect(a.requests[2]!.body.toString()).toBe('no type');
    // Outside the plugin Fastify's JSON parser is untouched.
    const local = await send(url, {
      method: 'POST',
      path: '/local',
      body: '{"item":"book"}',
      headers: { 'content-type': 'application/json' },
    });
    expect(JSON.parse(local.body)).toEqual({ parsed: { item: 'book' } });
    expect(a.requests).toHaveLength(3);
  });

  it('streams a POST body (under a raised bodyLimit) while the client is still sending it', async () => {
    const backend = await hashingBackend();
    const { url } = await fastifyApp([backend.url], undefined, 4 * 1024 * 1024);
    // 2 MiB: twice Fastify's default bodyLimit, half the plugin's.
    const upload = uploadChunks(2 * 1024 * 1024);
    const reply = await streamedPost(`${url}/api/upload`, upload, () => backend.received() > 0, {
      'content-type': 'application/json',
    });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({
      bytes: 2 * 1024 * 1024,
      sha256: sha256(Buffer.concat(upload)),
    });
  });

  it('runs the hooks: a preHandler can refuse the request, onResponse sees the answer', async () => {
    const a = await describingBackend('a');
    const responses: string[] = [];
    const { url } = await fastifyApp([a.url], (app) => {
      app.addHook('preHandler', async (request, reply) => {
        if (request.headers.authorization !== 'Bearer ok') {
          await reply.code(401).send({ error: 'unauthorized' });
        }
      });
      app.addHook('onResponse', async (request, reply) => {
        responses.push(`${reply.statusCode} ${request.originalUrl} ${request.url}`);
      });
    });
    expect((await send(url, { method: 'POST', path: '/api/x', body: 'secret' })).status).toBe(401);
    expect(a.requests).toHaveLength(0);
    const allowed = await send(url, {
      method: 'POST',
      path: '/api/x',
      body: 'secret',
      headers: { authorization: 'Bearer ok' },
    });
    expect(allowed.status).toBe(200);
    expect(a.requests[0]!.body.toString()).toBe('secret');
    await eventually(() => responses.length === 2);
    expect(responses).toEqual(['401 /api/x /api/x', '200 /api/x /x']);
  });

  it('answers 502 through Fastify when the endpoint is down, 503 when none is eligible', async () => {
    const dead = await refusedUrl();
    const { url, pool } = await fastifyApp([dead]);
    const down = await send(url, { path: '/api/x' });
    expect(down.status).toBe(502);
    expect(down.body).toMatch(/^502 Bad Gateway: .*ECONNREFUSED/);
    pool.remove(dead);
    const none = await send(url, { method: 'POST', path: '/api/x', body: 'payload' });
    expect(none.status).toBe(503);
    expect(none.body).toMatch(/^503 Service Unavailable/);
    expect(pool.snapshot().totals.inflight).toBe(0);
  });

  it('releases the lease and the upstream request when the client goes away', async () => {
    const backend = await silentBackend();
    const { url, pool } = await fastifyApp([backend.url]);
    await abandonRequest(`${url}/api/slow`, backend, pool);
    expect(backend.requests[0]!.url).toBe('/slow');
    expect(pool.snapshot().totals.failures).toBe(0);
  });

  it('forwards WebSocket upgrades from app.server', async () => {
    const ws = await upgradeBackend('a');
    const { url, pool } = await fastifyApp([ws.url]);
    const { res, socket } = await upgradeRequest(`${url}/api/socket`);
    expect(res.statusCode).toBe(101);
    expect(await echoOnce(socket!, 'ping')).toBe('a:ping');
    expect(ws.upgrades.map((r) => r.url)).toEqual(['/api/socket']);
    socket!.destroy();
    await eventually(() => pool.snapshot().totals.inflight === 0);
  });
});
