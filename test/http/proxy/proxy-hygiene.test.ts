import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  eventually,
  failOnProcessProblems,
  makePool,
  rawExchange,
  send,
  startBackend,
  startProxy,
} from '../proxy-support.js';

failOnProcessProblems();

function echoHeadersBackend() {
  return startBackend((_req, res, received) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(received.headers));
  });
}

describe('hop-by-hop headers', () => {
  it('removes them from the request, with the ones Connection names', async () => {
    const backend = await echoHeadersBackend();
    const { port } = await startProxy(makePool([backend.url]));
    await rawExchange(
      port,
      'GET / HTTP/1.1\r\nHost: front.test\r\nConnection: keep-alive, X-Hop\r\nX-Hop: secret\r\n' +
        'Keep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic eDp5\r\n' +
        'Proxy-Connection: keep-alive\r\nTrailer: X-Sum\r\nX-End-To-End: kept\r\n\r\n',
      '}',
    );
    const seen = backend.requests[0]!.headers;
    for (const name of [
      'x-hop',
      'keep-alive',
      'te',
      'proxy-authorization',
      'proxy-connection',
      'trailer',
    ]) {
      expect(seen[name], name).toBeUndefined();
    }
    expect(seen['x-end-to-end']).toBe('kept');
    expect(seen.connection).toBe('keep-alive'); // undici's own, for its connection
  });

  it('removes them from the response, with the ones Connection names', async () => {
    const backend = await startBackend((_req, res) => {
      res.writeHead(200, {
        connection: 'keep-alive, X-Internal',
        'x-internal': 'do not leak',
        'proxy-authenticate': 'Basic',
        trailer: 'X-Sum',
        upgrade: 'h2c',
        'x-kept': 'yes',
      });
      res.end('ok');
    });
    const { url } = await startProxy(makePool([backend.url]));
    const reply = await send(url);
    expect(reply.body).toBe('ok');
    expect(reply.headers['x-internal']).toBeUndefined();
    expect(reply.headers['proxy-authenticate']).toBeUndefined();
    expect(reply.headers.trailer).toBeUndefined();
    expect(reply.headers.upgrade).toBeUndefined();
    expect(reply.headers['x-kept']).toBe('yes');
  });

  it('forwards repeated response headers and Set-Cookie as separate lines', async () => {
    const backend = await startBackend((_req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.setHeader('x-multi', ['1', '2']);
      res.end();
    });
    const { url } = await startProxy(makePool([backend.url]));
    const reply = await send(url);
    expect(reply.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(reply.headers['x-multi']).toBe('1, 2');
  });
});

describe('X-Forwarded-* and Forwarded', () => {
  const spoofed = {
    host: 'front.test',
    'x-forwarded-for': '203.0.113.9',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'evil.test',
    forwarded: 'for=203.0.113.9',
  };

  it('sets them, replacing what the client sent', async () => {
    const backend = await echoHeadersBackend();
    const { url } = await startProxy(makePool([backend.url]));
    const seen = JSON.parse((await send(url, { headers: spoofed })).body);
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-forwarded-host']).toBe('front.test');
    expect(seen.forwarded).toBeUndefined();
  });

  it('appends to them for a trusted proxy', async () => {
    const backend = await echoHeadersBackend();
    const { url } = await startProxy(makePool([backend.url]), { trustProxy: true });
    const seen = JSON.parse((await send(url, { headers: spoofed })).body);
    expect(seen['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('https');
    expect(seen['x-forwarded-host']).toBe('evil.test');
    expect(seen.forwarded).toBe('for=203.0.113.9');
  });

  it('trusts by peer address with a function', async () => {
    const backend = await echoHeadersBackend();
    const { url } = await startProxy(makePool([backend.url]), {
      trustProxy: (address) => address === '10.0.0.1',
    });
    const seen = JSON.parse((await send(url, { headers: spoofed })).body);
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('sets an RFC 7239 Forwarded header when asked', async () => {
    const backend = await echoHeadersBackend();
    const { url } = await startProxy(makePool([backend.url]), { forwarded: true });
    const seen = JSON.parse((await send(url, { headers: { host: 'front.test' } })).body);
    expect(seen.forwarded).toBe('for=127.0.0.1;host=front.test;proto=http');
  });

  it('can leave X-Forwarded-* alone', async () => {
    const backend = await echoHeadersBackend();
    const { url } = await startProxy(makePool([backend.url]), { xForwarded: false });
    const seen = JSON.parse((await send(url, { headers: spoofed })).body);
    expect(seen['x-forwarded-for']).toBeUndefined();
  });
});

describe('Host and the destination', () => {
  it('keeps Host by default and sends the endpoint host with changeOrigin', async () => {
    const backend = await echoHeadersBackend();
    const kept = await startProxy(makePool([backend.url]));
    expect(JSON.parse((await send(kept.url, { headers: { host: 'front.test' } })).body).host).toBe(
      'front.test',
    );
    const changed = await startProxy(makePool([backend.url]), { changeOrigin: true });
    const seen = JSON.parse((await send(changed.url, { headers: { host: 'front.test' } })).body);
    expect(seen.host).toBe(`127.0.0.1:${backend.port}`);
    expect(seen['x-forwarded-host']).toBe('front.test');
  });

  it('an absolute-form target does not choose the destination: only its path is forwarded', async () => {
    const backend = await startBackend((req, res) => res.end(`path=${req.url}`));
    const { port } = await startProxy(makePool([backend.url]));
    const reply = await rawExchange(
      port,
      'GET http://elsewhere.invalid:81/x/y?z=1 HTTP/1.1\r\nHost: elsewhere.invalid:81\r\nConnection: close\r\n\r\n',
    );
    expect(reply).toMatch(/^HTTP\/1\.1 200/);
    expect(reply).toContain('path=/x/y?z=1');
    expect(backend.requests[0]?.url).toBe('/x/y?z=1');
  });

  it('a Host header does not choose the destination', async () => {
    const backend = await startBackend((_req, res) => res.end('the pool chose me'));
    const { url } = await startProxy(makePool([backend.url]));
    const reply = await send(url, { headers: { host: '127.0.0.2:1' } });
    expect(reply.body).toBe('the pool chose me');
  });

  it('prefixes the endpoint URL path', async () => {
    const backend = await startBackend((req, res) => res.end(req.url));
    const { url } = await startProxy(makePool([`${backend.url}/base/`]));
    expect((await send(url, { path: '/x?y=1' })).body).toBe('/base/x?y=1');
  });

  it('refuses CONNECT: it is not an open proxy', async () => {
    const backend = await startBackend((_req, res) => res.end('no'));
    const pool = makePool([backend.url]);
    const proxy = await startProxy(pool);
    // Node routes CONNECT to 'connect'; hand it to the proxy as a framework could.
    proxy.server.on('connect', (req: IncomingMessage, socket) => {
      const res = new http.ServerResponse(req);
      res.assignSocket(socket as never);
      res.on('finish', () => socket.end());
      proxy.proxy(req, res);
    });
    const reply = await rawExchange(
      proxy.port,
      'CONNECT 127.0.0.2:443 HTTP/1.1\r\nHost: 127.0.0.2:443\r\n\r\n',
    );
    expect(reply).toMatch(/^HTTP\/1\.1 501 Not Implemented/);
    expect(reply).toContain('CONNECT is not supported');
    expect(backend.requests).toHaveLength(0);
  });

  it('answers 400 for an asterisk-form target', async () => {
    const backend = await startBackend((_req, res) => res.end('no'));
    const { port } = await startProxy(makePool([backend.url]));
    const reply = await rawExchange(
      port,
      'OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    );
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
  });
});

describe('client aborts', () => {
  it('aborts the upstream request and releases the lease', async () => {
    let upstreamClosed = false;
    const backend = await startBackend(
      (_req, res) => {
        res.on('close', () => {
          upstreamClosed = true;
        });
        res.writeHead(200);
        res.write('partial');
      },
      { streaming: true },
    );
    const pool = makePool([backend.url]);
    const { url } = await startProxy(pool);
    await new Promise<void>((resolve) => {
      const req = http.get(url, { agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
    });
    await eventually(() => upstreamClosed);
    await eventually(() => pool.get(backend.url)?.inflight === 0);
  });

  it('aborts an upstream request still waiting for headers', async () => {
    let upstreamClosed = false;
    const backend = await startBackend(
      (req) => {
        req.socket.on('close', () => {
          upstreamClosed = true;
        });
      },
      { streaming: true },
    );
    const pool = makePool([backend.url]);
    const { url } = await startProxy(pool);
    const req = http.get(url, { agent: false });
    req.on('error', () => {});
    await eventually(() => backend.requests.length === 1);
    req.destroy();
    await eventually(() => upstreamClosed);
    await eventually(() => pool.get(backend.url)?.inflight === 0);
    const snapshot = pool.snapshot();
    expect(snapshot.endpoints[0]?.failures ?? 0).toBe(0);
  });

  it('aborts during a streamed upload', async () => {
    let upstreamClosed = false;
    const backend = await startBackend(
      (req) => {
        req.resume();
        req.socket.on('close', () => {
          upstreamClosed = true;
        });
      },
      { streaming: true },
    );
    const pool = makePool([backend.url]);
    const { url } = await startProxy(pool, { retry: { bodyBufferBytes: 0 } });
    const req = http.request(url, {
      method: 'POST',
      agent: false,
      headers: { 'content-length': '1000000' },
    });
    req.on('error', () => {});
    req.write(Buffer.alloc(10_000));
    await eventually(() => backend.requests.length === 1);
    req.destroy();
    await eventually(() => upstreamClosed);
    await eventually(() => pool.get(backend.url)?.inflight === 0);
  });
});

describe('response streaming', () => {
  it('an upstream failure mid-body resets the client: never a clean short response', async () => {
    const backend = await startBackend((_req, res) => {
      res.writeHead(200, { 'content-length': '100000' });
      res.write(Buffer.alloc(1000));
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const pool = makePool([backend.url]);
    const { url } = await startProxy(pool);
    const outcome = await new Promise<string>((resolve) => {
      http
        .get(url, { agent: false }, (res) => {
          let bytes = 0;
          res.on('data', (c: Buffer) => {
            bytes += c.length;
          });
          res.on('end', () => resolve(`clean end after ${bytes}`));
          res.on('error', (e) => resolve(`error ${(e as { code?: string }).code ?? e.message}`));
          res.on('aborted', () => resolve('aborted'));
        })
        .on('error', (e) => resolve(`error ${(e as { code?: string }).code ?? e.message}`));
    });
    expect(outcome).not.toMatch(/clean end/);
    await eventually(() => pool.get(backend.url)?.inflight === 0);
    expect(pool.snapshot().endpoints[0]?.failures).toBe(1);
  });

  it('also for a chunked response', async () => {
    const backend = await startBackend((_req, res) => {
      res.writeHead(200);
      res.write('first chunk');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const { url } = await startProxy(makePool([backend.url]));
    const outcome = await new Promise<string>((resolve) => {
      http
        .get(url, { agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve('clean end'));
          res.on('error', () => resolve('error'));
        })
        .on('error', () => resolve('error'));
    });
    expect(outcome).toBe('error');
  });

  it('flushes server-sent events as they arrive', async () => {
    let sendRest: (() => void) | undefined;
    const backend = await startBackend((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('data: one\n\n');
      sendRest = () => res.end('data: two\n\n');
    });
    const { url } = await startProxy(makePool([backend.url]));
    const events = await new Promise<string[]>((resolve, reject) => {
      http.get(url, { agent: false }, (res) => {
        const seen: string[] = [];
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          seen.push(chunk);
          // Only once the first event arrived does the backend send the rest.
          if (seen.length === 1) sendRest?.();
        });
        res.on('end', () => resolve(seen));
        res.on('error', reject);
      });
    });
    expect(events.join('')).toBe('data: one\n\ndata: two\n\n');
    expect(events[0]).toBe('data: one\n\n');
  });

  it('forwards each part of a Content-Length body as it arrives, the last one with the end', async () => {
    // The proxy writes the chunk that completes a Content-Length body together with the end;
    // no earlier chunk may wait for it.
    let sendRest: (() => void) | undefined;
    const backend = await startBackend((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10' });
      res.write('01234');
      sendRest = () => {
        res.write('567');
        setImmediate(() => res.end('89'));
      };
    });
    const { url } = await startProxy(makePool([backend.url]));
    const { parts, headers } = await new Promise<{
      parts: string[];
      headers: http.IncomingHttpHeaders;
    }>((resolve, reject) => {
      http.get(url, { agent: false }, (res) => {
        const seen: string[] = [];
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          seen.push(chunk);
          // Only once the first part arrived does the backend send the rest.
          if (seen.length === 1) sendRest?.();
        });
        res.on('end', () => resolve({ parts: seen, headers: res.headers }));
        res.on('error', reject);
      });
    });
    expect(parts[0]).toBe('01234');
    expect(parts.join('')).toBe('0123456789');
    expect(headers['content-length']).toBe('10');
    expect(headers['transfer-encoding']).toBeUndefined();
  });

  it('streams a large response with backpressure and forwards HEAD and 204 without a body', async () => {
    const size = 8 * 1024 * 1024;
    const backend = await startBackend((req, res) => {
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'content-length': String(size) });
        res.end();
      } else if (req.url === '/empty') {
        res.writeHead(204);
        res.end();
      } else {
        res.writeHead(200, { 'content-length': String(size) });
        res.end(Buffer.alloc(size, 1));
      }
    });
    const { url } = await startProxy(makePool([backend.url]));
    const received = await new Promise<number>((resolve, reject) => {
      http.get(url, { agent: false }, (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          // A slow reader: pause now and then so the proxy has to wait for 'drain'.
          if (bytes % (1024 * 1024) < c.length) {
            res.pause();
            setTimeout(() => res.resume(), 5);
          }
        });
        res.on('end', () => resolve(bytes));
        res.on('error', reject);
      });
    });
    expect(received).toBe(size);
    const head = await send(url, { method: 'HEAD' });
    expect(head.headers['content-length']).toBe(String(size));
    expect(head.body).toBe('');
    expect((await send(url, { path: '/empty' })).status).toBe(204);
  });
});

describe('bodies read by a body parser', () => {
  /** A server that reads the body first, as express.json() would, then hands over. */
  function parsedFirst(
    proxy: (req: IncomingMessage, res: ServerResponse) => void,
    parse: (raw: Buffer, req: IncomingMessage) => unknown,
  ) {
    return (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        (req as { body?: unknown }).body = parse(Buffer.concat(chunks), req);
        proxy(req, res);
      });
    };
  }

  it('forwards a parsed JSON body from req.body with a recomputed Content-Length', async () => {
    const backend = await startBackend((req, res, received) => {
      res.end(`${req.headers['content-type']}|${req.headers['content-length']}|${received.body}`);
    });
    const { url } = await startProxy(makePool([backend.url]), undefined, (proxy) =>
      parsedFirst(proxy, (raw) => JSON.parse(raw.toString())),
    );
    const reply = await send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{ "a" : 1,   "b": [1, 2] }',
    });
    expect(reply.body).toBe('application/json|17|{"a":1,"b":[1,2]}');
  });

  it('forwards a raw Buffer or string req.body as is, and a flat form', async () => {
    const backend = await startBackend((req, res, received) => {
      res.end(`${req.headers['content-length']}|${received.body}`);
    });
    const raw = await startProxy(makePool([backend.url]), undefined, (proxy) =>
      parsedFirst(proxy, (body) => body),
    );
    expect((await send(raw.url, { method: 'PUT', body: 'abc' })).body).toBe('3|abc');
    const text = await startProxy(makePool([backend.url]), undefined, (proxy) =>
      parsedFirst(proxy, (body) => body.toString()),
    );
    expect((await send(text.url, { method: 'PUT', body: 'é' })).body).toBe('2|é');
    const form = await startProxy(makePool([backend.url]), undefined, (proxy) =>
      parsedFirst(proxy, (body) => Object.fromEntries(new URLSearchParams(body.toString()))),
    );
    const reply = await send(form.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'a=1&b=x+y',
    });
    expect(reply.body).toBe('9|a=1&b=x+y');
  });

  it('refuses with 500 when the body is gone and req.body cannot stand in for it', async () => {
    const backend = await startBackend((_req, res) => res.end('should not be reached'));
    const { url } = await startProxy(makePool([backend.url]), undefined, (proxy) =>
      parsedFirst(proxy, () => undefined),
    );
    const reply = await send(url, { method: 'POST', body: 'lost' });
    expect(reply.status).toBe(500);
    expect(reply.body).toMatch(/already consumed/);
    expect(backend.requests).toHaveLength(0);
    const multipart = await startProxy(makePool([backend.url]), undefined, (proxy) =>
      parsedFirst(proxy, () => ({ field: 'x' })),
    );
    const refused = await send(multipart.url, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      body: '--x--',
    });
    expect(refused.status).toBe(500);
  });
});

describe('as middleware', () => {
  it('never calls next, on success or failure', async () => {
    const backend = await startBackend((_req, res) => res.end('ok'));
    let nextCalls = 0;
    const { url } = await startProxy(
      makePool([backend.url]),
      undefined,
      (proxy) => (req, res) =>
        proxy(req, res, () => {
          nextCalls++;
        }),
    );
    expect((await send(url)).body).toBe('ok');
    const pool = makePool([backend.url], { panicThreshold: 0 });
    pool.setHealth(backend.url, false);
    const down = await startProxy(
      pool,
      undefined,
      (proxy) => (req, res) =>
        proxy(req, res, () => {
          nextCalls++;
        }),
    );
    expect((await send(down.url)).status).toBe(503);
    expect(nextCalls).toBe(0);
  });
});
