import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { createProxyHandler, type ProxyOptions } from '../../../src/http/index.js';
import type { Pool } from '../../../src/pool/pool.js';
import {
  eventually,
  FirstAvailable,
  failOnProcessProblems,
  makePool,
  namedBackend,
  refusedUrl,
  send,
  startBackend,
  startProxy,
} from '../proxy-support.js';

failOnProcessProblems();

/** Nothing was counted against an endpoint, and no lease is held. */
function notBlamed(pool: Pool): void {
  const totals = pool.snapshot().totals;
  expect(totals.failures).toBe(0);
  expect(totals.inflight).toBe(0);
}

describe('rewriteRequest', () => {
  it('rewrites the path and headers sent upstream, and sees the endpoint and the method', async () => {
    const a = await namedBackend('a');
    const pool = makePool([`${a.url}/base`]);
    const seen: string[] = [];
    const { url } = await startProxy(pool, {
      rewriteRequest: (head, req) => {
        seen.push(`${head.method} ${head.path} ${head.endpoint.id} ${head.attempt} ${req.url}`);
        head.path = head.path.replace(/^\/v1/, '');
        head.headers['x-tenant'] = 'acme';
        delete head.headers['x-secret'];
        expect(head.headers['x-forwarded-for']).toBe('127.0.0.1');
      },
    });
    const res = await send(url, { path: '/v1/users?id=1', headers: { 'x-secret': 's' } });
    expect(res.status).toBe(200);
    expect(a.requests[0]!.url).toBe('/base/users?id=1');
    expect(a.requests[0]!.headers['x-tenant']).toBe('acme');
    expect(a.requests[0]!.headers['x-secret']).toBeUndefined();
    expect(seen).toEqual([`GET /v1/users?id=1 ${a.url}/base 1 /v1/users?id=1`]);
  });

  it('runs once per try on a fresh head, with that try’s endpoint, across a failover', async () => {
    const dead = await refusedUrl();
    const b = await namedBackend('b');
    const pool = makePool([dead, b.url], { selector: new FirstAvailable() });
    const tries: string[] = [];
    const { url } = await startProxy(pool, {
      rewriteRequest: (head) => {
        tries.push(`${head.attempt} ${head.endpoint.id} ${head.path}`);
        head.path = `/${head.attempt}${head.path}`;
        const prior = head.headers['x-try'];
        head.headers['x-try'] = prior === undefined ? String(head.attempt) : `${prior},again`;
      },
    });
    const res = await send(url, { path: '/p' });
    expect(res.body).toBe('b');
    expect(tries).toEqual([`1 ${dead} /p`, `2 ${b.url} /p`]);
    expect(b.requests[0]!.url).toBe('/2/p');
    expect(b.requests[0]!.headers['x-try']).toBe('2');
  });

  it('a hook that throws, or leaves a path that is not origin-form, is answered 500 through onError; no endpoint blamed', async () => {
    const a = await namedBackend('a');
    const pool = makePool([a.url]);
    const errors: Error[] = [];
    const onError: ProxyOptions['onError'] = (error, _req, res) => {
      errors.push(error);
      res.writeHead(500, { 'content-type': 'text/plain' }).end('custom');
    };
    const throwing = await startProxy(pool, {
      onError,
      rewriteRequest: () => {
        throw new Error('hook broke');
      },
    });
    const res = await send(throwing.url, { method: 'POST', body: 'x' });
    expect(res.status).toBe(500);
    expect(res.body).toBe('custom');
    expect(errors[0]!.message).toBe('hook broke');
    const badPath = await startProxy(pool, {
      rewriteRequest: (head) => {
        head.path = 'http://elsewhere/';
      },
    });
    expect((await send(badPath.url)).status).toBe(500);
    for (const bad of [{ 'x-bad': 'a\r\nb' }, { 'bad name': 'x' }, { 'x-n': 5 }]) {
      const badHeader = await startProxy(pool, {
        rewriteRequest: (head) => {
          Object.assign(head.headers, bad);
        },
      });
      // The application's fault (500), not the client's (400).
      expect((await send(badHeader.url)).status).toBe(500);
    }
    expect(a.requests).toHaveLength(0);
    notBlamed(pool);
  });

  it('applies to WebSocket upgrades too', async () => {
    const a = await startBackend(() => {});
    a.server.on('upgrade', (req, socket) => {
      socket.end(
        `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\nx-path: ${req.url}\r\nx-tenant: ${req.headers['x-tenant']}\r\n\r\n`,
      );
    });
    const { port } = await startProxy(makePool([a.url]), {
      rewriteRequest: (head) => {
        head.path = head.path.replace('/ws', '/socket');
        head.headers['x-tenant'] = 't1';
      },
    });
    const answer = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request({
        port,
        host: '127.0.0.1',
        path: '/ws',
        headers: { connection: 'upgrade', upgrade: 'websocket' },
        agent: false,
      });
      req.on('upgrade', (res, socket) => {
        socket.destroy();
        resolve(res);
      });
      req.on('error', reject);
      req.end();
    });
    expect(answer.headers['x-path']).toBe('/socket');
    expect(answer.headers['x-tenant']).toBe('t1');
  });
});

describe('rewriteResponse', () => {
  it('rewrites the status and headers sent to the client, once, on the delivered response', async () => {
    const failing = await startBackend((_req, res) => {
      res.writeHead(503, { server: 'failing' }).end('no');
    });
    const b = await namedBackend('b');
    const pool = makePool([failing.url, b.url], { selector: new FirstAvailable() });
    const heads: string[] = [];
    const { url } = await startProxy(pool, {
      affinity: { cookie: 'sy' },
      rewriteResponse: (head, req) => {
        heads.push(`${head.status} ${head.endpoint.id} ${req.url}`);
        expect(head.headers['set-cookie']).toMatch(/^sy=/);
        expect(head.headers.connection).toBeUndefined();
        delete head.headers['x-backend'];
        head.headers['x-proxied'] = 'yes';
        head.status = 203;
      },
    });
    const res = await send(url, { path: '/r' });
    expect(res.status).toBe(203);
    expect(res.body).toBe('b');
    expect(res.headers['x-backend']).toBeUndefined();
    expect(res.headers['x-proxied']).toBe('yes');
    expect(heads).toEqual([`200 ${b.url} /r`]);
  });

  it('a hook that throws is answered 500 through onError; the endpoint is not blamed', async () => {
    const a = await namedBackend('a');
    const pool = makePool([a.url]);
    const errors: Error[] = [];
    const { url } = await startProxy(pool, {
      onError: (error, _req, res) => {
        errors.push(error);
        res.writeHead(500).end('custom');
      },
      rewriteResponse: () => {
        throw new Error('response hook broke');
      },
    });
    const res = await send(url);
    expect(res.status).toBe(500);
    expect(res.body).toBe('custom');
    expect(errors[0]!.message).toBe('response hook broke');
    notBlamed(pool);
    const invalid = await startProxy(pool, {
      rewriteResponse: (head) => {
        head.status = head.endpoint === undefined ? 200 : 101;
      },
    });
    expect((await send(invalid.url)).status).toBe(500);
    notBlamed(pool);
  });
});

describe('responseBody', () => {
  it('transforms a whole body (sync or async) and sets its Content-Length', async () => {
    const a = await startBackend((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.write('<body>');
      res.end('hello</body>');
    });
    const sync = await startProxy(makePool([a.url]), {
      responseBody: { transform: (body) => body.toString().replace('hello', 'HELLO!') },
    });
    const res = await send(sync.url);
    expect(res.body).toBe('<body>HELLO!</body>');
    expect(res.headers['content-length']).toBe(String('<body>HELLO!</body>'.length));
    expect(res.headers['transfer-encoding']).toBeUndefined();
    const async = await startProxy(makePool([a.url]), {
      rewriteResponse: (head) => {
        head.headers['x-seen'] = '1';
      },
      responseBody: {
        transform: async (body, head) => {
          await new Promise((r) => setTimeout(r, 5));
          return Buffer.from(`${head.headers['x-seen']}:${body.length}`);
        },
      },
    });
    const second = await send(async.url);
    expect(second.body).toBe('1:18');
    expect(second.headers['x-seen']).toBe('1');
  });

  it('transforms only what `when` selects, and never a HEAD, 204 or 304 answer', async () => {
    const a = await startBackend((req, res) => {
      if (req.url === '/204') {
        res.writeHead(204).end();
        return;
      }
      res.writeHead(200, {
        'content-type': req.url === '/json' ? 'application/json' : 'text/plain',
      });
      res.end('body');
    });
    let calls = 0;
    const { url } = await startProxy(makePool([a.url]), {
      responseBody: {
        when: (head) => head.headers['content-type'] === 'text/plain',
        transform: (body) => {
          calls++;
          return body.toString().toUpperCase();
        },
      },
    });
    expect((await send(url, { path: '/json' })).body).toBe('body');
    expect((await send(url, { path: '/text' })).body).toBe('BODY');
    expect((await send(url, { path: '/text', method: 'HEAD' })).status).toBe(200);
    expect((await send(url, { path: '/204' })).status).toBe(204);
    expect(calls).toBe(1);
  });

  it('a body over maxBytes is answered 502, never passed on untransformed (by Content-Length or as it streams)', async () => {
    const a = await startBackend((req, res) => {
      if (req.url === '/declared') {
        res.writeHead(200, { 'content-length': 100 }).end('x'.repeat(100));
        return;
      }
      res.write('x'.repeat(60));
      setTimeout(() => res.end('y'.repeat(60)), 5);
    });
    const pool = makePool([a.url]);
    const { url } = await startProxy(pool, {
      responseBody: { maxBytes: 64, transform: () => 'transformed' },
    });
    const declared = await send(url, { path: '/declared' });
    expect(declared.status).toBe(502);
    expect(declared.body).toMatch(/over responseBody\.maxBytes \(64\)/);
    const streamed = await send(url, { path: '/streamed' });
    expect(streamed.status).toBe(502);
    expect(streamed.body).not.toMatch(/x{10}/);
    notBlamed(pool);
  });

  it('a client that leaves while its body is buffered aborts the try and releases the lease', async () => {
    let upstreamClosed = false;
    const a = await startBackend((_req, res) => {
      res.write('partial');
      res.on('close', () => {
        upstreamClosed = true;
      });
    });
    const pool = makePool([a.url]);
    const { port } = await startProxy(pool, { responseBody: { transform: (body) => body } });
    const req = http.get({ port, host: '127.0.0.1', path: '/', agent: false });
    req.on('error', () => {});
    await eventually(() => a.requests.length === 1);
    await eventually(() => pool.snapshot().totals.inflight === 1);
    req.destroy();
    await eventually(() => upstreamClosed && pool.snapshot().totals.inflight === 0);
    notBlamed(pool);
  });

  it('a transform that throws, rejects or returns a non-body is answered 500 through onError', async () => {
    const a = await namedBackend('a');
    const pool = makePool([a.url]);
    const errors: string[] = [];
    const onError: ProxyOptions['onError'] = (error, _req, res) => {
      errors.push(error.message);
      res.writeHead(500).end();
    };
    for (const transform of [
      () => {
        throw new Error('sync');
      },
      () => Promise.reject(new Error('async')),
      () => 42 as never,
    ]) {
      const { url } = await startProxy(pool, { onError, responseBody: { transform } });
      expect((await send(url)).status).toBe(500);
    }
    expect(errors).toEqual([
      'sync',
      'async',
      'responseBody.transform must return a Buffer or a string',
    ]);
    expect(pool.snapshot().totals.failures).toBe(0);
  });

  it('refuses bad hook options, naming them', () => {
    const pool = makePool(['http://127.0.0.1:1']);
    expect(() => createProxyHandler(pool, { rewriteRequest: 'x' as never })).toThrow(
      /rewriteRequest must be a function, got "x"/,
    );
    expect(() => createProxyHandler(pool, { rewriteResponse: {} as never })).toThrow(
      /rewriteResponse must be a function/,
    );
    expect(() => createProxyHandler(pool, { responseBody: {} as never })).toThrow(
      /responseBody\.transform must be a function, got undefined/,
    );
    expect(() =>
      createProxyHandler(pool, { responseBody: { transform: String, maxBytes: -1 } }),
    ).toThrow(/responseBody\.maxBytes must be/);
    expect(() =>
      createProxyHandler(pool, { responseBody: { transform: String, filter: 1 } as never }),
    ).toThrow(/unknown option "filter"/);
  });
});

describe('a pool per request', () => {
  it('sends each request to the pool the router picks, each pool with its own connections', async () => {
    const api = await namedBackend('api');
    const web = await namedBackend('web');
    const pools = { api: makePool([api.url]), web: makePool([web.url]) };
    const { url, proxy } = await startProxy((req) =>
      req.url?.startsWith('/api/') ? pools.api : pools.web,
    );
    expect((await send(url, { path: '/api/x' })).body).toBe('api');
    expect((await send(url, { path: '/home' })).body).toBe('web');
    expect((await send(url, { path: '/api/y' })).body).toBe('api');
    expect(api.requests.map((r) => r.url)).toEqual(['/api/x', '/api/y']);
    await proxy.close();
    expect((await send(url, { path: '/api/z' })).status).toBe(503);
  });

  it('a router that throws or returns no pool is answered 500 through onError', async () => {
    const a = await namedBackend('a');
    const pool = makePool([a.url]);
    const errors: string[] = [];
    const { url } = await startProxy(
      (req) => {
        if (req.url === '/throw') throw new Error('no route');
        if (req.url === '/junk') return {} as never;
        return pool;
      },
      {
        onError: (error, _req, res) => {
          errors.push(error.message);
          res.writeHead(500).end();
        },
      },
    );
    expect((await send(url, { path: '/throw' })).status).toBe(500);
    expect((await send(url, { path: '/junk' })).status).toBe(500);
    expect((await send(url, { path: '/ok' })).status).toBe(200);
    expect(errors[0]).toBe('no route');
    expect(errors[1]).toMatch(/pool router must return a Pool, got \{\}/);
  });
});
