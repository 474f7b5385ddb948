import http from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  failOnProcessProblems,
  makePool,
  namedBackend,
  send,
  startBackend,
  startProxy,
} from '../proxy-support.js';

failOnProcessProblems();

describe('createProxyHandler: forwarding', () => {
  it('forwards a GET and streams the answer back', async () => {
    const a = await namedBackend('a');
    const pool = makePool([a.url]);
    const { url } = await startProxy(pool);
    const reply = await send(url, { path: '/x/y?z=1' });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('a');
    expect(reply.headers['x-path']).toBe('/x/y?z=1');
    expect(a.requests).toHaveLength(1);
    expect(pool.get(a.url)?.inflight).toBe(0);
  });

  it('forwards a POST body, small and large', async () => {
    const echo = await startBackend((_req, res, received) => {
      res.writeHead(200, { 'x-length': String(received.body.length) });
      res.end(received.body);
    });
    const pool = makePool([echo.url]);
    const { url } = await startProxy(pool);
    const small = await send(url, { method: 'POST', body: 'hello' });
    expect(small.body).toBe('hello');
    const big = 'x'.repeat(300_000);
    const large = await send(url, { method: 'POST', body: big });
    expect(large.headers['x-length']).toBe('300000');
    expect(large.body.length).toBe(300_000);
    expect(echo.requests[1]?.headers['content-length']).toBe('300000');
  });

  it('passes every byte value through unchanged, in bodies below, at and above 8 KiB', async () => {
    // Every byte value, repeated: small whole bodies go out joined to the head as latin1
    // text, larger ones as buffers; both must be the upstream's bytes exactly.
    const pattern = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) pattern[i] = i;
    const sizes = [1, 78, 255, 256, 8 * 1024 - 1, 8 * 1024, 8 * 1024 + 1, 64 * 1024];
    const bodyOf = (size: number) => {
      const body = Buffer.alloc(size);
      for (let at = 0; at < size; at += 256) pattern.copy(body, at, 0, Math.min(256, size - at));
      return body;
    };
    const backend = await startBackend((req, res) => {
      const body = bodyOf(Number(new URL(req.url ?? '/', 'http://x').searchParams.get('n')));
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(body);
    });
    const { url } = await startProxy(makePool([backend.url]));
    for (const size of sizes) {
      const got = await new Promise<Buffer>((resolve, reject) => {
        http
          .get(`${url}/bytes?n=${size}`, { agent: false }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve(Buffer.concat(chunks)));
            res.on('error', reject);
          })
          .on('error', reject);
      });
      expect(got.equals(bodyOf(size)), `a body of ${size} bytes`).toBe(true);
    }
  });
});
