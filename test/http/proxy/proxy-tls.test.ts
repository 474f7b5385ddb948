import { request, Pool as UndiciPool } from 'undici';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  createBalancedDispatcher,
  createProxyHandler,
  httpCheck,
} from '../../../src/http/index.js';
import { failOnProcessProblems, makePool, send, startProxy } from '../proxy-support.js';
import { makeTestPki, startH2Backend, startHttpsBackend, type TestPki } from '../tls-support.js';

failOnProcessProblems();

let pki: TestPki;
beforeAll(() => {
  pki = makeTestPki();
});

describe('https:// endpoints', () => {
  it('reaches a TLS backend whose certificate the given CA signed, and refuses it without the CA (502)', async () => {
    const backend = await startHttpsBackend({ ...pki.server });
    const trusted = await startProxy(makePool([backend.url]), {
      tls: { ca: pki.ca },
      allowH2: false,
    });
    const ok = await send(trusted.url, { path: '/x' });
    expect(ok.status).toBe(200);
    expect(ok.body).toBe('tls ok');
    expect(backend.seen[0]!.url).toBe('/x');
    const untrusted = await startProxy(makePool([backend.url]), { retry: { attempts: 1 } });
    expect((await send(untrusted.url)).status).toBe(502);
    const anything = await startProxy(makePool([backend.url]), {
      tls: { rejectUnauthorized: false },
    });
    expect((await send(anything.url)).status).toBe(200);
  });

  it('checks the certificate against servername, for an endpoint given by address', async () => {
    const backend = await startHttpsBackend({ ...pki.named });
    const wrongName = await startProxy(makePool([backend.url]), {
      tls: { ca: pki.ca },
      retry: { attempts: 1 },
    });
    expect((await send(wrongName.url)).status).toBe(502);
    const named = await startProxy(makePool([backend.url]), {
      tls: { ca: pki.ca, servername: 'backend.test' },
    });
    expect((await send(named.url)).status).toBe(200);
  });

  it('presents a client certificate to a backend that requires one (mutual TLS)', async () => {
    const backend = await startHttpsBackend({
      ...pki.server,
      ca: pki.ca,
      requestCert: true,
      rejectUnauthorized: true,
    });
    const without = await startProxy(makePool([backend.url]), {
      tls: { ca: pki.ca },
      retry: { attempts: 1 },
    });
    expect((await send(without.url)).status).toBe(502);
    expect(backend.seen).toHaveLength(0);
    const withCert = await startProxy(makePool([backend.url]), {
      tls: { ca: pki.ca, cert: pki.client.cert, key: pki.client.key },
    });
    expect((await send(withCert.url)).status).toBe(200);
    expect(backend.seen[0]!.clientCn).toBe('proxy');
  });

  it('the balanced dispatcher takes the same tls options', async () => {
    const backend = await startHttpsBackend({ ...pki.server });
    const dispatcher = createBalancedDispatcher(makePool([backend.url]), { tls: { ca: pki.ca } });
    onTestFinished(() => dispatcher.destroy());
    const res = await request('http://service/y', { dispatcher });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('tls ok');
  });

  it('httpCheck reaches https endpoints with the same tls options', async () => {
    const backend = await startHttpsBackend({ ...pki.server });
    const pool = makePool([backend.url]);
    const endpoint = pool.get(backend.url)!;
    const trusting = httpCheck({ tls: { ca: pki.ca } });
    const plain = httpCheck();
    onTestFinished(async () => {
      await trusting.close();
      await plain.close();
    });
    await expect(trusting(endpoint, AbortSignal.timeout(5_000))).resolves.toBeUndefined();
    await expect(plain(endpoint, AbortSignal.timeout(5_000))).rejects.toThrow();
  });

  it('refuses bad tls options, naming them', () => {
    const pool = makePool(['https://127.0.0.1:1']);
    expect(() => createProxyHandler(pool, { tls: { ca: 5 as never } })).toThrow(
      /tls\.ca must be a PEM string or Buffer/,
    );
    expect(() => createProxyHandler(pool, { tls: { cert: pki.client.cert } })).toThrow(
      /tls\.cert and tls\.key go together/,
    );
    expect(() => createProxyHandler(pool, { tls: { servername: 'a b' } })).toThrow(
      /tls\.servername must be a host name, got "a b"/,
    );
    expect(() => createProxyHandler(pool, { tls: { rejectUnauthorized: 'no' as never } })).toThrow(
      /tls\.rejectUnauthorized must be a boolean, got "no"/,
    );
    expect(() => createProxyHandler(pool, { tls: { verify: true } as never })).toThrow(
      /unknown option "verify"/,
    );
    expect(() => createProxyHandler(pool, { allowH2: 1 as never })).toThrow(
      /allowH2 must be a boolean, got 1/,
    );
    expect(() =>
      createProxyHandler(pool, {
        allowH2: true,
        dispatcherFactory: (e) => new UndiciPool(e.parsedUrl.origin),
      }),
    ).toThrow(/dispatcherFactory cannot be combined with tls or allowH2/);
    expect(() => createBalancedDispatcher(pool, { tls: { ca: [] as never } })).toThrow(
      /tls\.ca must be/,
    );
    expect(() =>
      httpCheck({ tls: { ca: pki.ca }, dispatcher: new UndiciPool('http://x') }),
    ).toThrow(/tls cannot be combined with dispatcher/);
  });
});

describe('HTTP/2 upstreams', () => {
  it('speaks HTTP/2 to a backend that offers h2 (ALPN) with allowH2', async () => {
    const backend = await startH2Backend({ ...pki.server });
    const { url } = await startProxy(makePool([backend.url]), {
      tls: { ca: pki.ca },
      allowH2: true,
    });
    const res = await send(url, { path: '/h2?q=1', method: 'POST', body: 'hello' });
    expect(res.status).toBe(200);
    expect(res.body).toBe('h2 ok');
    expect(backend.seen[0]!.url).toBe('/h2?q=1');
    expect(backend.seen[0]!.headers[':method']).toBe('POST');
    expect(backend.seen[0]!.headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('with allowH2: false, an h2-only backend cannot be reached (502)', async () => {
    const backend = await startH2Backend({ ...pki.server });
    const { url } = await startProxy(makePool([backend.url]), {
      tls: { ca: pki.ca },
      allowH2: false,
      retry: { attempts: 1 },
    });
    expect((await send(url)).status).toBe(502);
  });
});

describe('dispatcherFactory', () => {
  it('sends through the dispatcher it makes, once per endpoint, and closes it with the proxy', async () => {
    const backend = await startHttpsBackend({ ...pki.server });
    const made: UndiciPool[] = [];
    const { url, proxy } = await startProxy(makePool([backend.url]), {
      dispatcherFactory: (endpoint) => {
        const dispatcher = new UndiciPool(endpoint.parsedUrl.origin, { connect: { ca: pki.ca } });
        made.push(dispatcher);
        return dispatcher;
      },
    });
    expect((await send(url)).status).toBe(200);
    expect((await send(url)).status).toBe(200);
    expect(made).toHaveLength(1);
    await proxy.close();
    expect(made[0]!.closed).toBe(true);
  });

  it('a factory that throws or returns no dispatcher makes a failed try, not a crash', async () => {
    const backend = await startHttpsBackend({ ...pki.server });
    const throwing = await startProxy(makePool([backend.url]), {
      dispatcherFactory: () => {
        throw new Error('no');
      },
    });
    expect((await send(throwing.url)).status).toBe(502);
    const junk = await startProxy(makePool([backend.url]), {
      dispatcherFactory: () => ({}) as never,
    });
    expect((await send(junk.url)).status).toBe(502);
  });
});
