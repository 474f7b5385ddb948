import diagnostics from 'node:diagnostics_channel';
import { type Pool as UndiciPool, Pool as UndiciPoolClass } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Upstreams } from '../../../src/http/shared/upstreams.js';
import {
  eventually,
  failOnProcessProblems,
  makePool,
  namedBackend,
  refusedUrl,
  send,
  startBackend,
  startProxy,
} from '../proxy-support.js';

failOnProcessProblems();

const SETTINGS = {
  connectMs: 1000,
  headersMs: 1000,
  idleMs: 1000,
  connections: null,
  keepAliveTimeoutMs: 4000,
  connect: undefined,
  allowH2: undefined,
  dispatcherFactory: undefined,
};

describe('upstream connection pools', () => {
  it('creates one per endpoint on first use, keeps connections alive, and closes it when the endpoint leaves', async () => {
    const a = await namedBackend('a');
    const pool = makePool([a.url]);
    const upstreams = new Upstreams(pool, SETTINGS);
    onTestFinished(() => upstreams.close(true));
    const endpoint = pool.get(a.url)!;
    const first = upstreams.get(endpoint);
    expect(upstreams.get(endpoint)).toBe(first);
    expect(upstreams.size).toBe(1);
    pool.remove(a.url);
    expect(upstreams.size).toBe(0);
    expect((first.dispatcher as UndiciPool).closed).toBe(true);
  });

  it("uses the proxy's own client for http: endpoints when asked, and closes it when the endpoint leaves", async () => {
    const a = await namedBackend('a');
    const pool = makePool([a.url]);
    const upstreams = new Upstreams(pool, { ...SETTINGS, fast: true });
    onTestFinished(() => upstreams.close(true));
    const first = upstreams.get(pool.get(a.url)!);
    expect(first.fast).toBeDefined();
    expect(first.fast!.closed).toBe(false);
    pool.remove(a.url);
    expect(first.fast!.closed).toBe(true);
    // What it does not carry (upgrades) goes through undici, closed with it.
    expect((first.dispatcher as UndiciPool).closed).toBe(true);
  });

  it('leaves https: endpoints, and everything with a dispatcherFactory, to undici', async () => {
    const a = await namedBackend('a');
    const pool = makePool([a.url, 'https://127.0.0.1:1']);
    const upstreams = new Upstreams(pool, { ...SETTINGS, fast: true });
    onTestFinished(() => upstreams.close(true));
    expect(upstreams.get(pool.get('https://127.0.0.1:1')!).fast).toBeUndefined();
    const own = new Upstreams(pool, {
      ...SETTINGS,
      fast: true,
      dispatcherFactory: (e) => new UndiciPoolClass(e.parsedUrl.origin),
    });
    onTestFinished(() => own.close(true));
    expect(own.get(pool.get(a.url)!).fast).toBeUndefined();
  });

  it('reuses keep-alive connections across requests', async () => {
    const sockets = new Set<unknown>();
    const backend = await startBackend((req, res) => {
      sockets.add(req.socket);
      res.end('ok');
    });
    const { url } = await startProxy(makePool([backend.url]));
    for (let i = 0; i < 5; i++) expect((await send(url)).body).toBe('ok');
    expect(sockets.size).toBe(1);
  });

  it('keeps serving through membership changes', async () => {
    const a = await namedBackend('a');
    const b = await namedBackend('b');
    const pool = makePool([a.url]);
    const { url } = await startProxy(pool);
    expect((await send(url)).body).toBe('a');
    pool.setEndpoints([b.url]);
    expect((await send(url)).body).toBe('b');
    pool.setEndpoints([a.url]);
    expect((await send(url)).body).toBe('a');
  });
});

describe('close', () => {
  it('lets requests in flight finish, then refuses new ones with 503', async () => {
    let finish: (() => void) | undefined;
    const backend = await startBackend((_req, res) => {
      finish = () => res.end('late but whole');
    });
    const { url, proxy } = await startProxy(makePool([backend.url]));
    const inFlight = send(url);
    await eventually(() => finish !== undefined);
    const closed = proxy.close();
    expect(proxy.close()).toBe(closed); // idempotent
    expect((await send(url)).status).toBe(503);
    finish!();
    expect((await inFlight).body).toBe('late but whole');
    await closed;
  });

  it('supports await using', async () => {
    const a = await namedBackend('a');
    const { proxy } = await startProxy(makePool([a.url]));
    await proxy[Symbol.asyncDispose]();
  });
});

describe('diagnostics channels', () => {
  it('publishes request, response and error, only building messages for subscribers', async () => {
    const events: string[] = [];
    const on = (name: string) => (message: unknown) => {
      const m = message as { statusCode?: number; error?: { code?: string } };
      events.push(`${name}${m.statusCode ?? ''}${m.error?.code ? ` ${m.error.code}` : ''}`);
    };
    const listeners = {
      'switchyard:proxy:request': on('request'),
      'switchyard:proxy:response': on('response'),
      'switchyard:proxy:error': on('error'),
    };
    for (const [name, fn] of Object.entries(listeners)) diagnostics.subscribe(name, fn);
    onTestFinished(() => {
      for (const [name, fn] of Object.entries(listeners)) diagnostics.unsubscribe(name, fn);
    });
    const a = await namedBackend('a');
    const ok = await startProxy(makePool([a.url]));
    await send(ok.url);
    const dead = await startProxy(makePool([await refusedUrl()]));
    await send(dead.url);
    expect(events).toEqual(['request', 'response200', 'request', 'error ERR_UPSTREAM_UNAVAILABLE']);
  });
});
