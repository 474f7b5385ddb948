// A streamed upload through the proxy's own client frees each chunk once it is written
// (src/http/shared/h1-pool.ts, releaseChunk): the bytes must still arrive whole, in either
// framing, and a chunk an application's own 'data' listener holds must never be touched.

import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { failOnProcessProblems, makePool, startBackend, startProxy } from '../proxy-support.js';

failOnProcessProblems();

const BODY = randomBytes(8 * 1024 * 1024);
const SHA = createHash('sha256').update(BODY).digest('hex');

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
    let at = 0;
    const pump = (): void => {
      while (at < BODY.length) {
        const piece = BODY.subarray(at, at + 64 * 1024);
        at += piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
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
