// Trailers, 103 Early Hints and 100 Continue through the proxy.

import http from 'node:http';
import { beforeAll, describe, expect, it } from 'vitest';
import { failOnProcessProblems, makePool, startBackend, startProxy } from '../proxy-support.js';
import { makeTestPki, startH2Backend, type TestPki } from '../tls-support.js';

failOnProcessProblems();

interface Full {
  status: number;
  headers: http.IncomingHttpHeaders;
  trailers: NodeJS.Dict<string>;
  body: string;
  informational: { status: number; headers: http.IncomingHttpHeaders }[];
  continued: boolean;
}

/** One request that records interim responses and trailers; with `expectContinue`, the body waits for 100. */
function exchange(
  url: string,
  options: {
    path?: string;
    method?: string;
    body?: string;
    expectContinue?: boolean;
    headers?: http.OutgoingHttpHeaders;
  } = {},
): Promise<Full> {
  return new Promise((resolve, reject) => {
    const informational: Full['informational'] = [];
    let continued = false;
    const headers: http.OutgoingHttpHeaders = { ...options.headers };
    if (options.body !== undefined) headers['content-length'] = Buffer.byteLength(options.body);
    if (options.expectContinue) headers.expect = '100-continue';
    const req = http.request(
      new URL(options.path ?? '/', url),
      { method: options.method ?? 'GET', headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            trailers: res.trailers,
            body: Buffer.concat(chunks).toString(),
            informational,
            continued,
          }),
        );
      },
    );
    req.on('information', (info) => {
      informational.push({ status: info.statusCode, headers: info.headers });
    });
    req.on('error', reject);
    if (options.expectContinue) {
      req.on('continue', () => {
        continued = true;
        req.end(options.body);
      });
      req.flushHeaders();
    } else req.end(options.body);
  });
}

describe('trailers', () => {
  it('forwards an HTTP/1.1 upstream’s trailers on a chunked response', async () => {
    const a = await startBackend((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
      res.write('part one, ');
      res.addTrailers({ 'x-checksum': 'abc123' });
      res.end('part two');
    });
    const { url } = await startProxy(makePool([a.url]));
    const res = await exchange(url, { headers: { te: 'trailers' } });
    expect(res.body).toBe('part one, part two');
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.trailers).toEqual({ 'x-checksum': 'abc123' });
  });

  it('passes TE: trailers on (and no other TE), since the proxy forwards trailers', async () => {
    const a = await startBackend((req, res) => {
      res.end(String(req.headers.te));
    });
    const { url } = await startProxy(makePool([a.url]));
    expect(
      (await exchange(url, { headers: { te: 'gzip, trailers', connection: 'TE' } })).body,
    ).toBe('trailers');
    expect((await exchange(url, { headers: { te: 'gzip' } })).body).toBe('undefined');
  });

  let pki: TestPki;
  beforeAll(() => {
    pki = makeTestPki();
  });

  it('forwards an HTTP/2 upstream’s trailers (the gRPC status case)', async () => {
    const backend = await startH2Backend({ ...pki.server }, (stream) => {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc' },
        { waitForTrailers: true },
      );
      stream.on('wantTrailers', () =>
        stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'ok' }),
      );
      stream.end('payload');
    });
    const { url } = await startProxy(makePool([backend.url]), { tls: { ca: pki.ca } });
    const res = await exchange(url, { headers: { te: 'trailers' } });
    expect(res.body).toBe('payload');
    expect(res.trailers).toEqual({ 'grpc-status': '0', 'grpc-message': 'ok' });
  });
});

describe('1xx', () => {
  it('forwards 103 Early Hints before the final response', async () => {
    const a = await startBackend((_req, res) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
      setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('page'), 10);
    });
    const { url } = await startProxy(makePool([a.url]));
    const res = await exchange(url);
    expect(res.status).toBe(200);
    expect(res.body).toBe('page');
    expect(res.informational).toEqual([
      {
        status: 103,
        headers: expect.objectContaining({ link: '</style.css>; rel=preload; as=style' }),
      },
    ]);
  });

  it('answers Expect: 100-continue itself, then forwards the body without the expectation', async () => {
    const a = await startBackend((req, res, received) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${req.headers.expect ?? 'no expect'}: ${received.body.toString()}`);
    });
    const { url } = await startProxy(makePool([a.url]));
    const res = await exchange(url, { method: 'POST', body: 'the upload', expectContinue: true });
    expect(res.continued).toBe(true);
    expect(res.status).toBe(200);
    expect(res.body).toBe('no expect: the upload');
  });

  it('does not pass an upstream’s own 100 Continue or 102 on to the client', async () => {
    const a = await startBackend((_req, res) => {
      res.writeProcessing();
      res.writeHead(200).end('done');
    });
    const { url } = await startProxy(makePool([a.url]));
    const res = await exchange(url, { method: 'POST', body: 'x' });
    expect(res.body).toBe('done');
    expect(res.informational).toEqual([]);
  });
});
