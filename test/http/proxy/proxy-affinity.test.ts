import { describe, expect, it } from 'vitest';
import { endpointToken } from '../../../src/http/proxy/affinity.js';
import { RingHash } from '../../../src/selectors/index.js';
import {
  failOnProcessProblems,
  makePool,
  namedBackend,
  refusedUrl,
  send,
  startProxy,
} from '../proxy-support.js';

/** The affinity cookie's HMAC key: tests forge cookies with it, as a fleet member would. */
const SECRET = 'test-secret-0123456789';

failOnProcessProblems();

function cookiePair(setCookie: string | string[] | undefined): string {
  const first = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  return (first ?? '').split(';')[0]!;
}

describe('cookie affinity', () => {
  it('sets a cookie naming the endpoint by a hash, and sticks to it', async () => {
    const a = await namedBackend('a');
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url]);
    const { url } = await startProxy(pool, { affinity: { cookie: 'sy', secret: SECRET } });
    const first = await send(url);
    const setCookie = first.headers['set-cookie']?.[0] ?? '';
    expect(setCookie).toBe(`sy=${endpointToken(a.url, SECRET)}; Path=/; HttpOnly; SameSite=Lax`);
    expect(setCookie).not.toContain('127.0.0.1');
    const cookie = cookiePair(first.headers['set-cookie']);
    for (let i = 0; i < 5; i++) {
      const reply = await send(url, { headers: { cookie: `other=1; ${cookie}` } });
      expect(reply.body).toBe('a');
      expect(reply.headers['set-cookie']).toBeUndefined();
    }
    // Without the cookie, round robin goes on as usual.
    expect((await send(url)).body).toBe('b');
  });

  it('goes elsewhere and rewrites the cookie when the sticky endpoint is out', async () => {
    const a = await namedBackend('a');
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url], { panicThreshold: 0 });
    const { url } = await startProxy(pool, { affinity: { cookie: 'sy', secret: SECRET } });
    const cookie = `sy=${endpointToken(a.url, SECRET)}`;
    expect((await send(url, { headers: { cookie } })).body).toBe('a');
    pool.setHealth(a.url, false);
    const moved = await send(url, { headers: { cookie } });
    expect(moved.body).toBe('b');
    expect(cookiePair(moved.headers['set-cookie'])).toBe(`sy=${endpointToken(b.url, SECRET)}`);
  });

  it('goes elsewhere and rewrites the cookie while the sticky endpoint is ejected', async () => {
    const a = await namedBackend('a');
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url]);
    const { url } = await startProxy(pool, { affinity: { cookie: 'sy', secret: SECRET } });
    const cookie = `sy=${endpointToken(a.url, SECRET)}`;
    pool.acquire({ prefer: a.url }).release({ ok: false, retryAfterMs: 60_000 });
    expect(pool.get(a.url)?.state).toBe('ejected');
    const moved = await send(url, { headers: { cookie } });
    expect(moved.body).toBe('b');
    expect(cookiePair(moved.headers['set-cookie'])).toBe(`sy=${endpointToken(b.url, SECRET)}`);
  });

  it('goes elsewhere and rewrites the cookie while the sticky endpoint drains', async () => {
    const a = await namedBackend('a');
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url]);
    const { url } = await startProxy(pool, { affinity: { cookie: 'sy', secret: SECRET } });
    const held = pool.acquire({ prefer: a.url });
    pool.remove(a.url, { drain: true });
    const cookie = `sy=${endpointToken(a.url, SECRET)}`;
    const moved = await send(url, { headers: { cookie } });
    expect(moved.body).toBe('b');
    expect(cookiePair(moved.headers['set-cookie'])).toBe(`sy=${endpointToken(b.url, SECRET)}`);
    held.release();
  });

  it('follows priority tiers: a backup endpoint is sticky only while its tier serves', async () => {
    const primary = await namedBackend('primary');
    const backup = await namedBackend('backup');
    const pool = makePool([], {
      endpoints: [primary.url, { url: backup.url, priority: 1 }],
      panicThreshold: 0,
    });
    const { url } = await startProxy(pool, { affinity: { cookie: 'sy', secret: SECRET } });
    const cookie = `sy=${endpointToken(backup.url, SECRET)}`;
    const moved = await send(url, { headers: { cookie } });
    expect(moved.body).toBe('primary');
    expect(cookiePair(moved.headers['set-cookie'])).toBe(
      `sy=${endpointToken(primary.url, SECRET)}`,
    );
    pool.setHealth(primary.url, false);
    const kept = await send(url, { headers: { cookie } });
    expect(kept.body).toBe('backup');
    expect(kept.headers['set-cookie']).toBeUndefined();
  });

  it('stays on an unhealthy sticky endpoint while its tier is in panic (it is eligible)', async () => {
    const a = await namedBackend('a');
    const b = await namedBackend('b');
    const pool = makePool([a.url, b.url], { panicThreshold: 0.5 });
    const { url } = await startProxy(pool, { affinity: { cookie: 'sy', secret: SECRET } });
    pool.setHealth(a.url, false);
    pool.setHealth(b.url, false);
    expect(pool.snapshot().panic).toBe(true);
    const cookie = `sy=${endpointToken(a.url, SECRET)}`;
    for (let i = 0; i < 3; i++) {
      const reply = await send(url, { headers: { cookie } });
      expect(reply.body).toBe('a');
      expect(reply.headers['set-cookie']).toBeUndefined();
    }
  });

  it('sticks to an endpoint added later, once the pool knows it', async () => {
    const a = await namedBackend('a');
    const b = await namedBackend('b');
    const pool = makePool([a.url]);
    const { url } = await startProxy(pool, { affinity: { cookie: 'sy', secret: SECRET } });
    const cookie = `sy=${endpointToken(b.url, SECRET)}`;
    expect((await send(url, { headers: { cookie } })).body).toBe('a');
    pool.add(b.url);
    for (let i = 0; i < 3; i++) expect((await send(url, { headers: { cookie } })).body).toBe('b');
  });

  it('rewrites the cookie to the endpoint that answered after a failover', async () => {
    const dead = await refusedUrl();
    const b = await namedBackend('b');
    const pool = makePool([dead, b.url]);
    const { url } = await startProxy(pool, { affinity: { cookie: 'sy', secret: SECRET } });
    const reply = await send(url, { headers: { cookie: `sy=${endpointToken(dead, SECRET)}` } });
    expect(reply.body).toBe('b');
    expect(cookiePair(reply.headers['set-cookie'])).toBe(`sy=${endpointToken(b.url, SECRET)}`);
  });

  it('ignores an unknown or forged cookie value', async () => {
    const a = await namedBackend('a');
    const pool = makePool([a.url]);
    const { url } = await startProxy(pool, { affinity: { cookie: 'sy', secret: SECRET } });
    const reply = await send(url, { headers: { cookie: 'sy=deadbeefdeadbeef; xsy=1' } });
    expect(reply.body).toBe('a');
    expect(cookiePair(reply.headers['set-cookie'])).toBe(`sy=${endpointToken(a.url, SECRET)}`);
  });

  it('honours cookie attributes', async () => {
    const a = await namedBackend('a');
    const { url } = await startProxy(makePool([a.url]), {
      affinity: {
        cookie: {
          name: 'lb',
          path: '/app',
          maxAgeSeconds: 3600,
          secure: true,
          sameSite: 'Strict',
          httpOnly: false,
          domain: 'example.test',
        },
        secret: SECRET,
      },
    });
    expect((await send(url)).headers['set-cookie']?.[0]).toBe(
      `lb=${endpointToken(a.url, SECRET)}; Path=/app; Domain=example.test; Max-Age=3600; SameSite=Strict; Secure`,
    );
  });

  it('marks the cookie Secure automatically behind a trusted TLS terminator', async () => {
    const a = await namedBackend('a');
    const { url } = await startProxy(makePool([a.url]), {
      affinity: { cookie: 'sy', secret: SECRET },
      trustProxy: true,
    });
    const reply = await send(url, { headers: { 'x-forwarded-proto': 'https' } });
    expect(reply.headers['set-cookie']?.[0]).toMatch(/; Secure$/);
  });
});

describe('hash-key affinity', () => {
  it('by ip: one client address always reaches one endpoint', async () => {
    const backends = await Promise.all(['a', 'b', 'c'].map((n) => namedBackend(n)));
    const pool = makePool(
      backends.map((b) => b.url),
      { selector: new RingHash({ random: () => 0.5 }) },
    );
    const { url } = await startProxy(pool, { affinity: { by: 'ip' } });
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await send(url)).body);
    expect(seen.size).toBe(1);
  });

  it('by ip behind a trusted proxy: the original client address is the key', async () => {
    const backends = await Promise.all(['a', 'b', 'c'].map((n) => namedBackend(n)));
    const pool = makePool(
      backends.map((b) => b.url),
      { selector: new RingHash({ random: () => 0.5 }) },
    );
    const { url } = await startProxy(pool, { affinity: { by: 'ip' }, trustProxy: true });
    const byClient = new Map<string, string>();
    for (let i = 0; i < 24; i++) {
      const client = `10.0.0.${i % 12}`;
      const body = (await send(url, { headers: { 'x-forwarded-for': `${client}, 10.9.9.9` } }))
        .body;
      if (byClient.has(client)) expect(body).toBe(byClient.get(client));
      byClient.set(client, body);
    }
    expect(new Set(byClient.values()).size).toBeGreaterThan(1);
  });

  it('by key function', async () => {
    const backends = await Promise.all(['a', 'b', 'c'].map((n) => namedBackend(n)));
    const pool = makePool(
      backends.map((b) => b.url),
      { selector: new RingHash({ random: () => 0.5 }) },
    );
    const { url } = await startProxy(pool, {
      affinity: { key: (req) => req.headers['x-user'] as string | undefined },
    });
    const first = (await send(url, { headers: { 'x-user': 'ada' } })).body;
    for (let i = 0; i < 4; i++) {
      expect((await send(url, { headers: { 'x-user': 'ada' } })).body).toBe(first);
    }
  });

  it('a throwing key function gets a 500, not a crash', async () => {
    const a = await namedBackend('a');
    const { url } = await startProxy(makePool([a.url]), {
      affinity: {
        key: () => {
          throw new Error('no user');
        },
      },
    });
    const reply = await send(url);
    expect(reply.status).toBe(500);
    expect(reply.body).toBe('500 Internal Server Error: proxy error\n');
  });
});
