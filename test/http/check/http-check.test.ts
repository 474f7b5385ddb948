import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Agent } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isHealthCheckError } from '../../../src/errors.js';
import { type HttpCheckOptions, httpCheck } from '../../../src/http/index.js';
import { FakePool } from '../../health/fake-pool.js';

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string; connections: () => number }> {
  const server = createServer(handler);
  let connections = 0;
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, connections: () => connections };
}

function check(options?: HttpCheckOptions) {
  const c = httpCheck(options);
  onTestFinished(() => c.close());
  return c;
}

const run = (c: ReturnType<typeof httpCheck>, url: string, signal = new AbortController().signal) =>
  c(FakePool.endpoint(url), signal);

describe('httpCheck', () => {
  it('passes on 2xx and 3xx by default and does not follow redirects', async () => {
    let status = 200;
    const paths: string[] = [];
    const { url } = await serve((req, res) => {
      paths.push(`${req.method} ${req.url}`);
      res.writeHead(status, status === 302 ? { location: '/elsewhere' } : {}).end('hello');
    });
    const c = check();
    await expect(run(c, url)).resolves.toBeUndefined();
    status = 302;
    await expect(run(c, url)).resolves.toBeUndefined();
    status = 500;
    const error = await run(c, url).catch((e: unknown) => e);
    expect(isHealthCheckError(error)).toBe(true);
    expect((error as { status: number }).status).toBe(500);
    expect(String(error)).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/ answered 500, expected 200-399/);
    expect(paths).toEqual(['GET /', 'GET /', 'GET /']);
  });

  it('uses method, path, headers and the host override', async () => {
    const seen: Array<Record<string, string | undefined>> = [];
    const { url } = await serve((req, res) => {
      seen.push({
        method: req.method,
        url: req.url,
        host: req.headers.host,
        token: req.headers['x-token'] as string,
      });
      res.end();
    });
    const c = check({
      method: 'HEAD',
      path: '/healthz?deep=1',
      headers: { 'X-Token': 't' },
      host: 'app.internal',
    });
    await run(c, `${url}/ignored/path`);
    expect(seen).toEqual([
      { method: 'HEAD', url: '/healthz?deep=1', host: 'app.internal', token: 't' },
    ]);
  });

  it('accepts a code, an inclusive [min, max] pair, or a predicate', async () => {
    let status = 204;
    const { url } = await serve((_req, res) => res.writeHead(status).end());
    await expect(run(check({ expectStatus: 204 }), url)).resolves.toBeUndefined();
    await expect(run(check({ expectStatus: 200 }), url)).rejects.toThrow(
      /answered 204, expected 200$/,
    );
    await expect(run(check({ expectStatus: [200, 299] }), url)).resolves.toBeUndefined();
    // A pair is a range, not a list: 204 is inside [200, 205].
    await expect(run(check({ expectStatus: [200, 205] }), url)).resolves.toBeUndefined();
    const set = (s: number) => s === 200 || s === 503;
    await expect(run(check({ expectStatus: set }), url)).rejects.toThrow(
      /expected a status accepted/,
    );
    status = 503;
    await expect(run(check({ expectStatus: set }), url)).resolves.toBeUndefined();
    await expect(run(check({ expectStatus: [200, 299] }), url)).rejects.toThrow(
      /answered 503, expected 200-299/,
    );
  });

  it('matches the body by string or RegExp within maxBodyBytes', async () => {
    let body = '{"status":"ok"}';
    const { url } = await serve((_req, res) => res.end(body));
    await expect(run(check({ expectBody: '"ok"' }), url)).resolves.toBeUndefined();
    const re = check({ expectBody: /"status":\s*"ok"/g });
    // A global RegExp keeps no state between checks.
    await expect(run(re, url)).resolves.toBeUndefined();
    await expect(run(re, url)).resolves.toBeUndefined();
    body = '{"status":"degraded"}';
    await expect(run(re, url)).rejects.toThrow(
      /body did not match .*"ok".* in its first 16384 bytes/,
    );
    body = `${'x'.repeat(100)}ok`;
    await expect(run(check({ expectBody: 'ok', maxBodyBytes: 100 }), url)).rejects.toThrow(
      /did not match "ok" in its first 100 bytes/,
    );
    await expect(run(check({ expectBody: 'ok', maxBodyBytes: 102 }), url)).resolves.toBeUndefined();
  });

  it('reads a large body only up to the limit and closes it', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 97);
      let sent = 0;
      const pump = () => {
        while (sent < 200 && res.write(chunk)) sent++;
        if (sent < 200) res.once('drain', pump);
        else res.end();
      };
      pump();
    });
    await expect(run(check({ expectBody: 'zzz' }), url)).rejects.toThrow(/did not match/);
    await expect(run(check(), url)).resolves.toBeUndefined();
  });

  it('reuses one connection across checks by default, and opens one per check with reuseConnections: false', async () => {
    const { url, connections } = await serve((_req, res) => res.end('ok'));
    // Checks are an interval apart; back to back, undici may not have freed the socket yet.
    const pause = () => new Promise((resolve) => setTimeout(resolve, 10));
    const keep = check();
    for (let i = 0; i < 3; i++) await run(keep, url).then(pause);
    expect(connections()).toBe(1);
    const fresh = check({ reuseConnections: false });
    for (let i = 0; i < 3; i++) await run(fresh, url).then(pause);
    expect(connections()).toBe(4);
  });

  it('fails at once on a refused connection and on an aborted signal', async () => {
    const { server, url } = await serve(() => {
      // Never answers.
    });
    const c = check();
    const controller = new AbortController();
    const pending = run(c, url, controller.signal);
    setTimeout(() => controller.abort(new Error('deadline')), 20);
    await expect(pending).rejects.toThrow();
    await new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    await expect(run(c, url)).rejects.toThrow();
  });

  it('refuses endpoints that are not http or https', async () => {
    await expect(run(check(), 'tcp://127.0.0.1:6379')).rejects.toThrow(
      /httpCheck needs an http: or https: endpoint, got "tcp:\/\/127\.0\.0\.1:6379"/,
    );
  });

  it('close() closes its own agent and later checks fail; a given dispatcher stays open', async () => {
    const { url } = await serve((_req, res) => res.end('ok'));
    const c = httpCheck();
    await run(c, url);
    await c.close();
    await c.close();
    await expect(run(c, url)).rejects.toThrow(/httpCheck was closed/);
    const dispatcher = new Agent();
    onTestFinished(() => dispatcher.close());
    const d = httpCheck({ dispatcher });
    await run(d, url);
    await d[Symbol.asyncDispose]();
    expect(dispatcher.closed).toBe(false);
    await expect(
      dispatcher.request({ origin: url, path: '/', method: 'GET' }).then((r) => r.body.text()),
    ).resolves.toBe('ok');
  });
});

describe('httpCheck bad input', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['method', '', /method must be a non-empty string, got ""/],
    ['method', 'GE T', /method must be an HTTP token, got "GE T"/],
    ['path', 'healthz', /path must start with "\/" and contain no whitespace, got "healthz"/],
    ['path', '/a b', /path must start .* got "\/a b"/],
    ['expectStatus', 99, /expectStatus must be an integer >= 100 and <= 599, got 99/],
    ['expectStatus', 200.5, /expectStatus must be an integer .* got 200.5/],
    [
      'expectStatus',
      [299, 200],
      /expectStatus must be an inclusive \[min, max\] range with min <= max, got \[299, 200\]/,
    ],
    [
      'expectStatus',
      [200, 204, 302],
      /expectStatus must be a status code, an inclusive \[min, max\] pair or a function, got array of 3; for a set of codes pass a function/,
    ],
    ['expectStatus', [200, 'x'], /expectStatus\[1\] \(max\) must be an integer .* got "x"/],
    ['expectStatus', '200', /expectStatus must be a status code.* got "200"/],
    ['expectBody', '', /expectBody must be a non-empty string or a RegExp, got ""/],
    ['expectBody', 5, /expectBody must be .* got 5/],
    ['maxBodyBytes', 0, /maxBodyBytes must be an integer >= 1, got 0/],
    ['headers', 'x', /headers must be an object of strings, got "x"/],
    ['headers', { 'bad name': 'x' }, /headers has an invalid name "bad name"/],
    ['headers', { Connection: 'close' }, /headers must not set "Connection": it is hop-by-hop/],
    ['headers', { 'x-a': 1 }, /headers\["x-a"\] must be a string without CR, LF or NUL, got 1/],
    ['headers', { 'x-a': 'a\r\nb: c' }, /headers\["x-a"\] must be a string without CR/],
    ['host', '', /host must be a non-empty string, got ""/],
    ['host', 'a b', /host must be a host\[:port\], got "a b"/],
    ['reuseConnections', 'yes', /reuseConnections must be a boolean, got "yes"/],
    ['dispatcher', {}, /dispatcher must be an undici Dispatcher, got \{\}/],
  ];
  for (const [name, value, message] of cases) {
    it(`rejects ${name} = ${JSON.stringify(value)}`, () => {
      expect(() => httpCheck({ [name]: value } as HttpCheckOptions)).toThrow(message);
    });
  }

  it('rejects unknown options', () => {
    expect(() => httpCheck({ status: 200 } as unknown as HttpCheckOptions)).toThrow(
      /httpCheck got an unknown option "status"/,
    );
  });
});
