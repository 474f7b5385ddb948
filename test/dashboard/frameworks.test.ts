import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createDashboard, type Dashboard } from '../../src/dashboard/index.js';
import { DASHBOARD_ASSETS } from '../../src/dashboard/page/assets.js';
import { Pool } from '../../src/pool/pool.js';
import { readEvents, serve, TOKEN } from './support.js';

function setup(): { pool: Pool; dashboard: Dashboard } {
  const pool = new Pool({ endpoints: ['http://127.0.0.1:9', 'http://127.0.0.1:10'] });
  const dashboard = createDashboard({ pools: { app: pool }, admin: { token: TOKEN } });
  onTestFinished(async () => {
    await dashboard.close();
    await pool.close();
  });
  return { pool, dashboard };
}

describe('the dashboard in Express', () => {
  it('works under a mount path, redirects the bare mount, and passes other paths on', async () => {
    const { pool, dashboard } = setup();
    const app = express();
    app.use('/lb', dashboard);
    app.get('/lb/custom', (_req, res) => {
      res.send('mine');
    });
    app.use((_req, res) => {
      res.status(404).send('app 404');
    });
    const site = await serve(app);

    const bare = await fetch(`${site.url}/lb?x=1`, { redirect: 'manual' });
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe('./lb/?x=1');
    expect(new URL(bare.headers.get('location')!, `${site.url}/lb?x=1`).href).toBe(
      `${site.url}/lb/?x=1`,
    );
    const followed = await fetch(`${site.url}/lb`);
    expect(followed.url).toBe(`${site.url}/lb/`);
    expect(await followed.text()).toBe(DASHBOARD_ASSETS.get('/')!.body);
    const nested = await fetch(`${site.url}/a/b/lb`, { redirect: 'manual' });
    expect(nested.status).toBe(404); // not mounted there

    expect((await fetch(`${site.url}/lb/assets/app.js`)).status).toBe(200);
    const snapshot = (await (await fetch(`${site.url}/lb/api/snapshot`)).json()) as {
      pools: object;
    };
    expect(Object.keys(snapshot.pools)).toEqual(['app']);
    expect(await (await fetch(`${site.url}/lb/metrics`)).text()).toContain('# TYPE switchyard_');
    const { events } = await readEvents(`${site.url}/lb/api/events`, (e) => e.length > 0);
    expect(events[0]!.event).toBe('snapshot');

    const id = pool.endpoints[0]!.id;
    const res = await fetch(
      `${site.url}/lb/api/pools/app/endpoints/${encodeURIComponent(id)}/disable`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
      },
    );
    expect(res.status).toBe(204);
    expect(pool.get(id)!.state).toBe('disabled');

    // Unknown paths under the mount, and long URLs, go to the next handler.
    expect(await (await fetch(`${site.url}/lb/custom`)).text()).toBe('mine');
    expect(await (await fetch(`${site.url}/lb/nope`)).text()).toBe('app 404');
    expect(await (await fetch(`${site.url}/lb/nope?${'a'.repeat(9_000)}`)).text()).toBe('app 404');
    expect(await (await fetch(`${site.url}/elsewhere`)).text()).toBe('app 404');
  });

  it('never redirects to another origin, whatever the path', async () => {
    const { dashboard } = setup();
    const app = express();
    app.use(dashboard);
    const site = await serve(app);
    for (const path of ['//evil.example', '/\\evil.example', '//evil.example/lb']) {
      const res = await fetch(`${site.url}${path}`, { redirect: 'manual' });
      const location = res.headers.get('location');
      if (location !== null) {
        expect(new URL(location, `${site.url}${path}`).origin, path).toBe(site.url);
      }
    }
  });
});

/**
 * The Fastify plugin of the dashboard guide: routes under the plugin's prefix hand the raw
 * request to the dashboard with the prefix stripped (as Express does), the full URL kept
 * in `originalUrl`.
 */
function switchyardDashboard(
  instance: FastifyInstance,
  options: { readonly dashboard: Dashboard },
  done: (error?: Error) => void,
): void {
  const { dashboard } = options;
  const prefix = instance.prefix;
  instance.removeAllContentTypeParsers();
  instance.addContentTypeParser('*', (_request, _payload, parsed) => parsed(null));
  const forward = (request: FastifyRequest, reply: FastifyReply): void => {
    const raw = request.raw as typeof request.raw & { originalUrl?: string };
    const url = raw.url ?? '/';
    raw.originalUrl ??= url;
    raw.url = url.startsWith(prefix) ? url.slice(prefix.length) || '/' : url;
    if (raw.url.startsWith('?')) raw.url = `/${raw.url}`;
    reply.hijack();
    dashboard(raw, reply.raw);
  };
  instance.all('/', forward);
  instance.all('/*', forward);
  done();
}

describe('the dashboard in Fastify', () => {
  it('serves every route through the plugin of the guide', async () => {
    const { pool, dashboard } = setup();
    const app = Fastify();
    app.get('/health', async () => ({ ok: true }));
    await app.register(switchyardDashboard, { dashboard, prefix: '/lb' });
    await app.listen({ port: 0, host: '127.0.0.1' });
    onTestFinished(() => app.close());
    const { port } = app.server.address() as AddressInfo;
    const base = `http://127.0.0.1:${port}`;

    const bare = await fetch(`${base}/lb`, { redirect: 'manual' });
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe('./lb/');
    expect(await (await fetch(`${base}/lb/`)).text()).toBe(DASHBOARD_ASSETS.get('/')!.body);
    expect((await fetch(`${base}/lb/api/snapshot`)).headers.get('content-type')).toBe(
      'application/json; charset=utf-8',
    );
    expect(await (await fetch(`${base}/lb/metrics`)).text()).toContain('switchyard_endpoint_state');
    const { events } = await readEvents(`${base}/lb/api/events`, (e) => e.length > 0);
    expect(events[0]!.event).toBe('snapshot');
    const id = pool.endpoints[1]!.id;
    const res = await fetch(`${base}/lb/api/pools/app/endpoints/${encodeURIComponent(id)}/drain`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: '{"ignored":true}',
    });
    expect(res.status).toBe(204);
    expect(pool.get(id)!.state).toBe('draining');
    expect((await fetch(`${base}/lb/nope`)).status).toBe(404);
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ ok: true });
  });
});
