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
});
