import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createDashboard } from '../../src/dashboard/index.js';
import { DASHBOARD_ASSETS, DASHBOARD_CSP } from '../../src/dashboard/page/assets.js';
import type { DashboardSnapshot, DashboardStateEvent } from '../../src/dashboard/snapshot.js';
import { Pool } from '../../src/pool/pool.js';
import { readEvents, serve, TOKEN, traffic, world } from './support.js';

const post = (url: string, token?: string, init: RequestInit = {}) =>
  fetch(url, {
    method: 'POST',
    ...init,
    headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
  });

const action = (site: string, pool: string, id: string, verb: string) =>
  `${site}/api/pools/${encodeURIComponent(pool)}/endpoints/${encodeURIComponent(id)}/${verb}`;

describe('createDashboard: reading', () => {
  it('serves the snapshot of a pool carrying proxied traffic, with figures, share and health', async () => {
    const { site, proxy, monitor, backends } = await world();
    await monitor.checkNow();
    const statuses = await traffic(proxy.url, 30);
    expect(statuses).toEqual(new Array(30).fill(200));
    const res = await fetch(`${site.url}/api/snapshot`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as DashboardSnapshot;
    expect(Object.keys(body.pools)).toEqual(['app']);
    expect(body.time).toBeGreaterThan(Date.parse('2020-01-01'));
    const app = body.pools.app!;
    expect(app.totals).toMatchObject({ endpoints: 3, requests: 30, disabled: 0, retries: 0 });
    expect(app.endpoints.map((e) => e.id)).toEqual(backends.map((b) => b.url));
    for (const e of app.endpoints) {
      expect(e.requests).toBe(10);
      expect(e.successes).toBe(10);
      expect(e.latencyMs.p50).toBeGreaterThan(0);
      expect(e.latencyMs.p99).toBeGreaterThanOrEqual(e.latencyMs.p50!);
      expect(typeof e.rate).toBe('number');
      expect(e.errorRate).toBe(0);
      expect(typeof e.share).toBe('number');
      expect(e.health).toMatchObject({ healthy: true, passed: 1, failed: 0, last: { ok: true } });
      expect(e.health!.last!.ageMs).toBeGreaterThanOrEqual(0);
    }
    // b answers after 5 ms, a after 2 ms: the percentiles tell them apart.
    expect(app.endpoints[1]!.latencyMs.p50!).toBeGreaterThan(app.endpoints[0]!.latencyMs.p50!);
  });

  it('shows failing endpoints: failures, ejections and the failed check', async () => {
    const { site, proxy, monitor } = await world({ failing: true });
    await monitor.checkNow();
    const statuses = await traffic(proxy.url, 30);
    expect(statuses).toHaveLength(30);
    const body = (await (await fetch(`${site.url}/api/snapshot`)).json()) as DashboardSnapshot;
    const c = body.pools.app!.endpoints[2]!;
    expect(c.failures).toBeGreaterThan(0);
    expect(c.health).toMatchObject({
      passed: 0,
      failed: 1,
      last: { ok: false, error: 'status 500' },
    });
    expect(body.pools.app!.totals.failures).toBe(c.failures);
  });

  it('reports rate, error rate and share over whole seconds', async () => {
    const { site, pool } = await world();
    const ids = pool.endpoints.map((e) => e.id);
    // Failures released straight into the pool: an error rate the proxy would not make.
    for (let i = 0; i < 20; i++)
      pool.acquire({ exclude: new Set(ids.slice(1)) }).release({ ok: i % 4 !== 0 });
    await new Promise((r) => setTimeout(r, 1_100));
    const body = (await (await fetch(`${site.url}/api/snapshot`)).json()) as DashboardSnapshot;
    const a = body.pools.app!.endpoints[0]!;
    expect(a.rate).toBeGreaterThan(0);
    expect(a.errorRate).toBeCloseTo(0.25);
    expect(a.share).toBe(1);
    expect(body.pools.app!.endpoints[1]!.share).toBe(0);
  });

  it('serves the page and its assets with a CSP, an ETag and 304 on revalidation', async () => {
    const { site } = await world();
    for (const [path, asset] of DASHBOARD_ASSETS) {
      const res = await fetch(`${site.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe(asset.contentType);
      expect(res.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toBe(asset.body);
      const etag = res.headers.get('etag')!;
      const again = await fetch(`${site.url}${path}`, { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
    }
    const head = await fetch(`${site.url}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBe(
      Buffer.byteLength(DASHBOARD_ASSETS.get('/')!.body),
    );
    expect(await head.text()).toBe('');
    // Query strings are ignored for routing.
    expect((await fetch(`${site.url}/api/snapshot?x=1`)).status).toBe(200);
  });

  it('answers 405 with Allow for other methods, 404 for other paths, 414 for a very long URL', async () => {
    const { site } = await world();
    for (const path of ['/', '/api/snapshot', '/api/events', '/metrics', '/assets/app.js']) {
      for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
        const res = await fetch(`${site.url}${path}`, { method });
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(res.headers.get('allow')).toBe('GET, HEAD');
      }
    }
    for (const path of [
      '/nope',
      '/api',
      '/api/snapshot/',
      '/assets/',
      '/assets/../index.html',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/assets/%2e%2e/app.js',
      '/API/SNAPSHOT',
      '//api/snapshot',
    ]) {
      const res = await fetch(`${site.url}${path}`);
      expect(res.status, path).toBe(404);
    }
    const long = await fetch(`${site.url}/api/snapshot?${'a'.repeat(9_000)}`);
    expect(long.status).toBe(414);
  });
});

describe('createDashboard: events', () => {
  it('streams a snapshot each second and a state event per change, with its reason', async () => {
    const { site, pool, proxy } = await world({ snapshotIntervalMs: 300 });
    const id = pool.endpoints[0]!.id;
    let acted = false;
    const { events, status, headers } = await readEvents(`${site.url}/api/events`, (seen) => {
      const snapshots = seen.filter((e) => e.event === 'snapshot').length;
      if (snapshots >= 2 && !acted) {
        acted = true;
        void traffic(proxy.url, 3).then(() => post(action(site.url, 'app', id, 'disable'), TOKEN));
      }
      return seen.some((e) => e.event === 'state') && snapshots >= 4;
    });
    expect(status).toBe(200);
    expect(headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(headers.get('cache-control')).toBe('no-store');
    const states = events.filter((e) => e.event === 'state');
    expect(states).toHaveLength(1);
    const state = JSON.parse(states[0]!.data) as DashboardStateEvent;
    expect(state).toMatchObject({
      seq: 1,
      pool: 'app',
      id,
      from: 'healthy',
      to: 'disabled',
      reason: 'disable',
    });
    expect(states[0]!.id).toBe('1');
    const last = JSON.parse(
      events.filter((e) => e.event === 'snapshot').at(-1)!.data,
    ) as DashboardSnapshot;
    expect(last.pools.app!.endpoints[0]!.state).toBe('disabled');
    expect(last.pools.app!.totals.requests).toBe(3);
  });

  it('replays the kept state changes to a new stream, and those after Last-Event-ID', async () => {
    const { site, pool } = await world();
    const [a, b] = pool.endpoints.map((e) => e.id) as [string, string];
    pool.drain(a);
    pool.disable(b);
    pool.enable(a);
    const all = await readEvents(`${site.url}/api/events`, (e) =>
      e.some((x) => x.event === 'snapshot'),
    );
    const replayed = all.events.filter((e) => e.event === 'state').map((e) => JSON.parse(e.data));
    expect(
      replayed.map((e) => `${e.seq} ${e.id === a ? 'a' : 'b'} ${e.from}→${e.to} ${e.reason}`),
    ).toEqual([
      '1 a healthy→draining drain',
      '2 b healthy→disabled disable',
      '3 a draining→healthy enable',
    ]);
    // The first event is first: states before the snapshot.
    expect(all.events[0]!.event).toBe('state');
    const after = await readEvents(
      `${site.url}/api/events`,
      (e) => e.some((x) => x.event === 'snapshot'),
      {
        headers: { 'last-event-id': '2' },
      },
    );
    expect(after.events.filter((e) => e.event === 'state').map((e) => e.id)).toEqual(['3']);
    // A bogus Last-Event-ID replays everything kept.
    const bogus = await readEvents(
      `${site.url}/api/events`,
      (e) => e.some((x) => x.event === 'snapshot'),
      {
        headers: { 'last-event-id': '99999' },
      },
    );
    expect(bogus.events.filter((e) => e.event === 'state')).toHaveLength(3);
  });

  it('limits concurrent streams (503), and close() ends them, idempotent', async () => {
    const { site, dashboard } = await world({ maxEventStreams: 1 });
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const first = readEvents(`${site.url}/api/events`, () => false, {
      onOpen: () => opened(),
      timeoutMs: 10_000,
    });
    await open;
    const second = await fetch(`${site.url}/api/events`);
    expect(second.status).toBe(503);
    expect(second.headers.get('retry-after')).toBe('5');
    await second.text();
    await dashboard.close();
    await dashboard.close();
    expect(dashboard.closed).toBe(true);
    const done = await first;
    expect(done.ended).toBe(true);
    expect(done.events[0]!.event).toBe('snapshot');
    expect((await fetch(`${site.url}/api/events`)).status).toBe(503);
    expect((await fetch(`${site.url}/api/snapshot`)).status).toBe(200);
  });

  it('takes one snapshot per tick, whatever the number of open streams', async () => {
    const pool = new Pool({ endpoints: ['http://127.0.0.1:9'] });
    let taken = 0;
    const snapshot = pool.snapshot.bind(pool);
    pool.snapshot = () => {
      taken++;
      return snapshot();
    };
    const dashboard = createDashboard({ pool, snapshotIntervalMs: 200 });
    const site = await serve(dashboard);
    const count = (e: readonly { event: string }[]) =>
      e.filter((x) => x.event === 'snapshot').length;
    const streams = await Promise.all(
      Array.from({ length: 5 }, () => readEvents(`${site.url}/api/events`, (e) => count(e) >= 5)),
    );
    for (const { events } of streams) expect(count(events)).toBeGreaterThanOrEqual(5);
    // Five streams of five snapshots each: one shared snapshot per tick (about 5), plus the
    // ones that opened the streams within the same tick share theirs too.
    expect(taken).toBeLessThanOrEqual(9);
    await dashboard.close();
  });

  it('does not buffer for a client that does not read: it misses ticks instead', async () => {
    // 1 500 endpoints make a snapshot of several hundred kB; ten ticks a second.
    const pool = new Pool({
      endpoints: Array.from({ length: 1_500 }, (_, i) => `http://127.0.${i >> 8}.${i & 255}:9`),
    });
    const dashboard = createDashboard({ pool, snapshotIntervalMs: 100 });
    const responses: import('node:http').ServerResponse[] = [];
    const site = await serve((req, res) => {
      responses.push(res);
      dashboard(req, res);
    });
    const snapshotBytes = (await (await fetch(`${site.url}/api/snapshot`)).text()).length;
    const socket = net.connect(site.port, '127.0.0.1');
    socket.write('GET /api/events HTTP/1.1\r\nhost: x\r\n\r\n');
    socket.pause(); // never read
    await new Promise((r) => setTimeout(r, 2_000));
    const stream = responses.at(-1)!;
    expect(stream.writableLength).toBeLessThan(3 * snapshotBytes);
    socket.destroy();
    await dashboard.close();
    await pool.close();
  });
});

describe('createDashboard: admin', () => {
  it('drains, disables and enables with the token: 204, and the pool follows', async () => {
    const { site, pool } = await world();
    const id = pool.endpoints[1]!.id;
    for (const [verb, state] of [
      ['drain', 'draining'],
      ['disable', 'disabled'],
      ['enable', 'healthy'],
    ] as const) {
      const res = await post(action(site.url, 'app', id, verb), TOKEN);
      expect(res.status, verb).toBe(204);
      expect(await res.text()).toBe('');
      expect(pool.get(id)!.state).toBe(state);
    }
    // The scheme is case-insensitive; a body is ignored.
    const lower = await fetch(action(site.url, 'app', id, 'drain'), {
      method: 'POST',
      headers: { authorization: `bearer ${TOKEN}` },
      body: 'x'.repeat(100_000),
    });
    expect(lower.status).toBe(204);
  });

  it('answers 401 for a missing or wrong token, before looking up the pool or id', async () => {
    const { site, pool } = await world();
    const id = pool.endpoints[0]!.id;
    const wrong = [
      undefined,
      '',
      TOKEN.slice(0, -1),
      `${TOKEN}x`,
      TOKEN.toUpperCase(),
      `${TOKEN} ${TOKEN}`,
      'x'.repeat(4_000),
    ];
    for (const token of wrong) {
      const res = await post(action(site.url, 'app', id, 'disable'), token);
      expect(res.status, String(token).slice(0, 20)).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="switchyard"');
    }
    for (const header of [`Basic ${TOKEN}`, TOKEN, `Bearer`, `Bearer  `, `Token ${TOKEN}`]) {
      const res = await fetch(action(site.url, 'app', id, 'disable'), {
        method: 'POST',
        headers: { authorization: header },
      });
      expect(res.status, header).toBe(401);
    }
    // Cookies are no credential.
    const cookie = await fetch(action(site.url, 'app', id, 'disable'), {
      method: 'POST',
      headers: { cookie: `token=${TOKEN}` },
    });
    expect(cookie.status).toBe(401);
    expect((await post(action(site.url, 'nope', 'nope', 'disable'))).status).toBe(401);
    expect(pool.get(id)!.state).toBe('healthy');
  });

  it('answers 404 for an unknown pool or id, 400 for broken encoding, 405 for GET', async () => {
    const { site, pool } = await world();
    const id = pool.endpoints[0]!.id;
    expect((await post(action(site.url, 'nope', id, 'drain'), TOKEN)).status).toBe(404);
    expect((await post(action(site.url, 'app', `${id}/`, 'drain'), TOKEN)).status).toBe(404);
    expect((await post(`${site.url}/api/pools/app/endpoints/${id}/drain`, TOKEN)).status).toBe(404);
    expect((await post(`${site.url}/api/pools/app/endpoints/%2e%2e/drain`, TOKEN)).status).toBe(
      404,
    );
    expect((await post(`${site.url}/api/pools/%2e%2e/endpoints/%2e%2e/drain`, TOKEN)).status).toBe(
      404,
    );
    expect((await post(`${site.url}/api/pools/app/endpoints/%E0%A4%A/drain`, TOKEN)).status).toBe(
      400,
    );
    expect((await post(`${site.url}/api/pools/app/endpoints/x/reboot`, TOKEN)).status).toBe(404);
    expect((await post(`${site.url}/api/pools/app/endpoints/x`, TOKEN)).status).toBe(404);
    const get = await fetch(action(site.url, 'app', id, 'drain'), {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(pool.get(id)!.state).toBe('healthy');
  });

  it('answers 404 on the admin routes without admin (read-only), token or not', async () => {
    const { site, pool } = await world({ admin: false });
    const id = pool.endpoints[0]!.id;
    expect((await post(action(site.url, 'app', id, 'disable'), TOKEN)).status).toBe(404);
    expect((await post(action(site.url, 'app', id, 'disable'))).status).toBe(404);
    expect((await fetch(action(site.url, 'app', id, 'disable'))).status).toBe(404);
    expect(pool.get(id)!.state).toBe('healthy');
  });

  it('takes ids with any characters, percent-encoded as one path segment', async () => {
    const id = 'we/ird id?#%"\\\n😀';
    const pool = new Pool({ endpoints: [{ id, url: 'http://127.0.0.1:9' }] });
    const dashboard = createDashboard({ pools: { 'a b/c': pool }, admin: { token: TOKEN } });
    const site = await serve(dashboard);
    expect((await post(action(site.url, 'a b/c', id, 'disable'), TOKEN)).status).toBe(204);
    expect(pool.get(id)!.state).toBe('disabled');
    await dashboard.close();
  });
});

describe('createDashboard: credentials', () => {
  it('shows endpoint URLs without user name or password', async () => {
    const pool = new Pool({ endpoints: [{ id: 'db-1', url: 'http://user:s3cret@127.0.0.1:9/x' }] });
    const dashboard = createDashboard({ pool });
    const site = await serve(dashboard);
    const text = await (await fetch(`${site.url}/api/snapshot`)).text();
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('user');
    expect((JSON.parse(text) as DashboardSnapshot).pools.default!.endpoints[0]!.url).toBe(
      'http://127.0.0.1:9/x',
    );
    await dashboard.close();
  });
});

describe('createDashboard: options', () => {
  const pool = new Pool();
  it.each([
    [undefined, /needs options/],
    [{}, /exactly one of pools and pool/],
    [{ pool, pools: { a: pool } }, /exactly one of pools and pool/],
    [{ pools: {} }, /at least one pool/],
    [{ pools: { a: {} } }, /pools\["a"\] must be a Pool/],
    [{ pool, colour: 'red' }, /unknown option "colour"/],
    [{ pool, admin: { token: 'short' } }, /admin.token must be at least 16 characters.*got 5/],
    [{ pool, admin: { token: 42 } }, /admin.token must be a string/],
    [{ pool, admin: { token: `${'x'.repeat(20)} y` } }, /without white space/],
    [{ pool, monitors: [{}] }, /monitors\[0\] must be a HealthMonitor/],
    [{ pool, monitors: [{ pool: new Pool(), status: () => undefined }] }, /not among/],
    [{ pool, snapshotIntervalMs: 10 }, /snapshotIntervalMs/],
    [{ pool, maxEventStreams: -1 }, /maxEventStreams/],
  ])('rejects %o', (options, message) => {
    expect(() => createDashboard(options as never)).toThrow(message);
  });

  it('never quotes the admin token in an error', () => {
    const secret = 'hunter2secret';
    expect(() => createDashboard({ pool, admin: { token: secret } })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining(secret) }),
    );
  });

  it('names a lone pool "default"', async () => {
    const dashboard = createDashboard({ pool });
    const site = await serve(dashboard);
    const body = (await (await fetch(`${site.url}/api/snapshot`)).json()) as DashboardSnapshot;
    expect(Object.keys(body.pools)).toEqual(['default']);
    await dashboard[Symbol.asyncDispose]();
  });
});
