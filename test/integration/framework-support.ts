import { createHash } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { expect, onTestFinished } from 'vitest';
import type { Pool } from '../../src/pool/pool.js';
import {
  type Backend,
  closeServer,
  eventually,
  listen,
  startBackend,
} from '../http/proxy-support.js';

/** Serves `listener` (an Express app, …) on 127.0.0.1, closed after the test. */
export async function serve(
  listener: http.RequestListener,
  upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer(listener);
  if (upgrade !== undefined) server.on('upgrade', upgrade);
  const port = await listen(server);
  onTestFinished(() => closeServer(server));
  return { url: `http://127.0.0.1:${port}`, server };
}

/** A backend answering `name METHOD url` and the size and SHA-256 of the body it read. */
export function describingBackend(name: string): Promise<Backend> {
  return startBackend((req, res, received) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        backend: name,
        method: req.method,
        url: req.url,
        bytes: received.body.length,
        sha256: sha256(received.body),
        contentType: req.headers['content-type'] ?? null,
        contentLength: req.headers['content-length'] ?? null,
      }),
    );
  });
}

export interface Described {
  readonly backend: string;
  readonly method: string;
  readonly url: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly contentType: string | null;
  readonly contentLength: string | null;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * A backend that reads each request body as it streams in (never buffering it first) and
 * answers its size and SHA-256; `received()` counts the body bytes that arrived so far.
 */
export async function hashingBackend(): Promise<Backend & { received: () => number }> {
  let received = 0;
  const backend = await startBackend(
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        chunks.push(chunk);
      });
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        res.end(JSON.stringify({ bytes: body.length, sha256: sha256(body) }));
      });
    },
    { streaming: true },
  );
  return { ...backend, received: () => received };
}

/**
 * `bytes` of upload: a first chunk of 96 KiB (past the default `bodyBufferBytes`, so the
 * proxy streams the body), then 16 KiB chunks.
 */
export function uploadChunks(bytes: number): Buffer[] {
  const first = 96 * 1024;
  const rest = (bytes - first) / (16 * 1024);
  return [
    Buffer.alloc(first, 255),
    ...Array.from({ length: rest }, (_, i) => Buffer.alloc(16 * 1024, i)),
  ];
}

/**
 * A backend that never answers on its own; records each request and whether its
 * connection closed. `requests.length` counts arrivals.
 */
export async function silentBackend(): Promise<Backend & { closed: () => number }> {
  let closed = 0;
  const backend = await startBackend(
    (req, res) => {
      res.on('close', () => closed++);
      req.resume();
    },
    { streaming: true },
  );
  return { ...backend, closed: () => closed };
}

/**
 * Sends `chunks` as a chunked POST body, waiting after the first until `firstArrived()`
 * holds (so the body must have streamed through before the client finished it).
 */
export function streamedPost(
  url: string,
  chunks: readonly Buffer[],
  firstArrived: () => boolean,
  headers: http.OutgoingHttpHeaders = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.write(chunks[0]);
    eventually(firstArrived, 5_000).then(
      () => {
        for (const chunk of chunks.slice(1)) req.write(chunk);
        req.end();
      },
      (error: unknown) => {
        req.destroy();
        reject(error);
      },
    );
  });
}

/**
 * Sends a GET that the backend holds, then goes away once the backend has it; resolves
 * when the pool has no lease out and the backend saw its connection close.
 */
export async function abandonRequest(
  url: string,
  backend: Backend & { closed: () => number },
  pool: Pool,
): Promise<void> {
  const before = backend.requests.length;
  const closedBefore = backend.closed();
  const req = http.request(url, { agent: false });
  req.on('error', () => {});
  req.end();
  await eventually(() => backend.requests.length > before);
  expect(pool.snapshot().totals.inflight).toBe(1);
  req.destroy();
  await eventually(() => pool.snapshot().totals.inflight === 0 && backend.closed() > closedBefore);
}
