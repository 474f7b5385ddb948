import { deflateSync, gzipSync } from 'node:zlib';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { createProxyHandler } from '../../../../src/http/index.js';
import { serve } from '../../../integration/framework-support.js';
import { failOnProcessProblems, makePool, send, startBackend } from '../../proxy-support.js';

// Bug: a body that a body parser had read was rebuilt from `req.body` (decoded: inflated,
// charset-converted) but forwarded under the client's `Content-Encoding` and `charset`, so
// the endpoint received plain JSON labelled gzip, or UTF-8 bytes labelled ISO-8859-1.

failOnProcessProblems();

async function app(parser: express.RequestHandler) {
  const backend = await startBackend((_req, res) => res.end('ok'));
  const proxy = createProxyHandler(makePool([backend.url]));
  const application = express();
  application.use('/in', parser, proxy);
  const { url } = await serve(application);
  return { url, backend };
}

describe('a body rebuilt from req.body is sent with headers that describe it', () => {
  it('drops Content-Encoding: express.json() inflated a gzip body', async () => {
    const { url, backend } = await app(express.json());
    const reply = await send(url, {
      method: 'POST',
      path: '/in',
      body: gzipSync('{"item":"book"}'),
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    });
    expect(reply.status).toBe(200);
    const seen = backend.requests[0]!;
    expect(seen.headers['content-encoding']).toBeUndefined();
    expect(seen.body.toString()).toBe('{"item":"book"}');
    expect(seen.headers['content-length']).toBe('15');
  });

  it('drops Content-Encoding: express.raw() inflated a deflate body', async () => {
    const { url, backend } = await app(express.raw({ type: '*/*' }));
    const reply = await send(url, {
      method: 'POST',
      path: '/in',
      body: deflateSync(Buffer.from('raw bytes')),
      headers: { 'content-type': 'application/octet-stream', 'content-encoding': 'deflate' },
    });
    expect(reply.status).toBe(200);
    const seen = backend.requests[0]!;
    expect(seen.headers['content-encoding']).toBeUndefined();
    expect(seen.body.toString()).toBe('raw bytes');
  });

  it('labels re-encoded text UTF-8: express.text() decoded ISO-8859-1', async () => {
    const { url, backend } = await app(express.text());
    const reply = await send(url, {
      method: 'POST',
      path: '/in',
      body: Buffer.from('café', 'latin1'),
      headers: { 'content-type': 'text/plain; charset=ISO-8859-1' },
    });
    expect(reply.status).toBe(200);
    const seen = backend.requests[0]!;
    expect(seen.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(seen.body.toString('utf8')).toBe('café');
    expect(seen.headers['content-length']).toBe('5');
  });

  it('keeps a UTF-8 charset and a content type without one as they are', async () => {
    const { url, backend } = await app(express.json());
    for (const type of ['application/json; charset="UTF-8"', 'application/json']) {
      await send(url, {
        method: 'POST',
        path: '/in',
        body: '{"a":1}',
        headers: { 'content-type': type },
      });
    }
    expect(backend.requests.map((r) => r.headers['content-type'])).toEqual([
      'application/json; charset="UTF-8"',
      'application/json',
    ]);
  });
});
