// Bodies through the proxy's own client are freed chunk by chunk once written
// (src/http/shared/release-chunk.ts): the bytes must still arrive whole, up and down, in
// either framing, and a chunk an application holds (its own 'data' listener on the request,
// its own `res.write` wrapper) must never be touched.

import { createHash, randomBytes } from 'node:crypto';
import http, { type ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { failOnProcessProblems, makePool, startBackend, startProxy } from '../proxy-support.js';

failOnProcessProblems();

const BODY = randomBytes(8 * 1024 * 1024);
const SHA = createHash('sha256').update(BODY).digest('hex');

/** Writes BODY to `out` in 64 KiB writes, under backpressure, then ends it. */
function writeBody(out: Writable): void {
  let at = 0;
  const pump = (): void => {
    while (at < BODY.length) {
      const piece = BODY.subarray(at, at + 64 * 1024);
      at += piece.length;
      if (!out.write(piece)) return void out.once('drain', pump);
    }
    out.end();
  };
  pump();
}

/** A backend answering with the SHA-256 of the body it read. */
function hashingBackend() {
  return startBackend(
    (req, res) => {
      const hash = createHash('sha256');
      req.on('data', (c: Buffer) => hash.update(c));
      req.on('end', () => res.end(hash.digest('hex')));
    },
    { streaming: true },
  );
}

/** Uploads BODY in 64 KiB writes, with a Content-Length or chunked; resolves with the answer. */
function upload(url: string, chunked: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: chunked ? {} : { 'content-length': String(BODY.length) },
      },
      (res) => {
        let text = '';
        res.setEncoding('latin1');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve(`${res.statusCode} ${text}`));
      },
    );
    req.on('error', reject);
    writeBody(req);
  });
}

describe('a streamed upload', () => {
  for (const chunked of [false, true]) {
    const framing = chunked ? 'chunked' : 'with a Content-Length';
    it(`arrives byte for byte, ${framing}`, async () => {
      const backend = await hashingBackend();
      const { url } = await startProxy(makePool([backend.url]), {
        retry: { bodyBufferBytes: 0 },
      });
      expect(await upload(url, chunked)).toBe(`200 ${SHA}`);
    });

    it(`leaves the chunks an application's own 'data' listener keeps intact, ${framing}`, async () => {
      const backend = await hashingBackend();
      const kept: Buffer[] = [];
      const { url } = await startProxy(
        makePool([backend.url]),
        { retry: { bodyBufferBytes: 0 } },
        (proxy) => (req, res) => {
          req.on('data', (c: Buffer) => kept.push(c));
          proxy(req, res);
        },
      );
      expect(await upload(url, chunked)).toBe(`200 ${SHA}`);
      expect(kept.length).toBeGreaterThan(1);
      expect(createHash('sha256').update(Buffer.concat(kept)).digest('hex')).toBe(SHA);
    });
  }
});

/** A backend sending BODY in 64 KiB writes, with a Content-Length or chunked. */
function sendingBackend(chunked: boolean) {
  return startBackend(
    (_req, res) => {
      res.writeHead(200, chunked ? {} : { 'content-length': String(BODY.length) });
      writeBody(res);
    },
    { streaming: true },
  );
}

/** Downloads through the proxy; resolves with the status and the SHA-256 of the body. */
function download(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        const hash = createHash('sha256');
        res.on('data', (c: Buffer) => hash.update(c));
        res.on('end', () => resolve(`${res.statusCode} ${hash.digest('hex')}`));
      })
      .on('error', reject);
  });
}

describe('a streamed download', () => {
  for (const chunked of [false, true]) {
    const framing = chunked ? 'chunked' : 'with a Content-Length';
    it(`arrives byte for byte, ${framing}`, async () => {
      const backend = await sendingBackend(chunked);
      let connections = 0;
      backend.server.on('connection', () => connections++);
      const { url } = await startProxy(makePool([backend.url]));
      expect(await download(url)).toBe(`200 ${SHA}`);
      // Twice over the same upstream connection: a freed buffer is never read again.
      expect(await download(url)).toBe(`200 ${SHA}`);
      expect(connections).toBe(1);
    });

    it(`leaves the chunks a res.write and res.end wrapper keeps intact, ${framing}`, async () => {
      const backend = await sendingBackend(chunked);
      const kept: Buffer[] = [];
      const { url } = await startProxy(makePool([backend.url]), {}, (proxy) => (req, res) => {
        // As response-logging middleware does: keep what goes out, then pass it on.
        const write = res.write.bind(res) as (...args: unknown[]) => boolean;
        const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
        res.write = ((chunk: Buffer, ...rest: unknown[]) => {
          kept.push(chunk);
          return write(chunk, ...rest);
        }) as typeof res.write;
        res.end = ((chunk?: unknown, ...rest: unknown[]) => {
          if (Buffer.isBuffer(chunk)) kept.push(chunk);
          return end(chunk, ...rest);
        }) as typeof res.end;
        proxy(req, res);
      });
      expect(await download(url)).toBe(`200 ${SHA}`);
      expect(kept.length).toBeGreaterThan(1);
      expect(createHash('sha256').update(Buffer.concat(kept)).digest('hex')).toBe(SHA);
    });
  }
});
