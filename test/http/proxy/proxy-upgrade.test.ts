import { describe, expect, it } from 'vitest';
import { endpointToken } from '../../../src/http/proxy/affinity.js';
import {
  eventually,
  failOnProcessProblems,
  makePool,
  refusedUrl,
  startProxy,
} from '../proxy-support.js';
import { echoOnce, readText, upgradeBackend, upgradeRequest } from './upgrade-support.js';

/** The affinity cookie's HMAC key: tests forge cookies with it, as a fleet member would. */
const SECRET = 'test-secret-0123456789';

failOnProcessProblems();

describe('proxy.upgrade', () => {
  it('forwards a WebSocket upgrade and pipes both ways, holding the lease while open', async () => {
    const backend = await upgradeBackend('a');
    const pool = makePool([backend.url]);
    const { url } = await startProxy(pool);
    const { res, socket } = await upgradeRequest(url);
    expect(res.statusCode).toBe(101);
    expect(res.headers['sec-websocket-accept']).toBe('accept-k123');
    expect(res.headers['x-backend']).toBe('a');
    expect(res.headers.upgrade).toBe('websocket');
    expect(await echoOnce(socket!, 'ping')).toBe('a:ping');
    const seen = backend.upgrades[0]!.headers;
    expect(seen.upgrade).toBe('websocket');
    expect(seen['sec-websocket-key']).toBe('k123');
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(pool.get(backend.url)?.inflight).toBe(1);
    socket!.destroy();
    await eventually(() => pool.get(backend.url)?.inflight === 0);
  });

  it('fails over when an endpoint refuses the connection', async () => {
    const dead = await refusedUrl();
    const backend = await upgradeBackend('b');
    const { url } = await startProxy(makePool([dead, backend.url]));
    const { res, socket } = await upgradeRequest(url);
    expect(res.statusCode).toBe(101);
    expect(await echoOnce(socket!, 'x')).toBe('b:x');
    socket!.destroy();
  });

  it('relays an endpoint refusing the upgrade', async () => {
    const backend = await upgradeBackend('a', { refuse: 403 });
    const pool = makePool([backend.url]);
    const { url } = await startProxy(pool);
    const { res } = await upgradeRequest(url);
    expect(res.statusCode).toBe(403);
    expect(res.headers['x-why']).toBe('a');
    expect(await readText(res)).toBe('refused');
    await eventually(() => pool.get(backend.url)?.inflight === 0);
    // A 4xx is the endpoint answering, not failing.
    expect(pool.get(backend.url)?.state).toBe('healthy');
    expect(pool.snapshot().totals.failures).toBe(0);
  });

  it('answers 503 when no endpoint is eligible and 502 when every one refuses', async () => {
    const empty = await startProxy(makePool([]));
    expect((await upgradeRequest(empty.url)).res.statusCode).toBe(503);
    const dead = await startProxy(makePool([await refusedUrl()]));
    const { res } = await upgradeRequest(dead.url);
    expect(res.statusCode).toBe(502);
    // The same text as an ordinary request's answer: the cause, with its code.
    expect(await readText(res)).toBe(
      '502 Bad Gateway: upstream connection failed (ECONNREFUSED) after 1 attempt\n',
    );
  });

  it('answers 500 when the affinity key function throws, as for an ordinary request', async () => {
    const a = await upgradeBackend('a');
    const { url } = await startProxy(makePool([a.url]), {
      affinity: {
        key: () => {
          throw new Error('no user');
        },
      },
    });
    const { res } = await upgradeRequest(url);
    expect(res.statusCode).toBe(500);
    expect(await readText(res)).toBe('500 Internal Server Error: proxy error\n');
    expect(a.upgrades).toHaveLength(0);
  });

  it('keeps cookie affinity', async () => {
    const a = await upgradeBackend('a');
    const b = await upgradeBackend('b');
    const { url } = await startProxy(makePool([a.url, b.url]), {
      affinity: { cookie: 'sy', secret: SECRET },
    });
    const first = await upgradeRequest(url);
    expect(first.res.headers['set-cookie']?.[0]).toMatch(
      new RegExp(`^sy=${endpointToken(a.url, SECRET)};`),
    );
    first.socket!.destroy();
    const sticky = await upgradeRequest(url, { cookie: `sy=${endpointToken(b.url, SECRET)}` });
    expect(sticky.res.headers['x-backend']).toBe('b');
    expect(sticky.res.headers['set-cookie']).toBeUndefined();
    sticky.socket!.destroy();
  });
});
