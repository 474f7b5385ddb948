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

/** Starts a WebSocket handshake; resolves with the response, and the socket after a 101. */
export function upgradeRequest(
  url: string,
): Promise<{ res: IncomingMessage; socket: Duplex | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      agent: false,
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'k1' },
    });
    req.on('upgrade', (res, socket) => resolve({ res, socket }));
    req.on('response', (res) => resolve({ res, socket: undefined }));
    req.on('error', reject);
    req.end();
  });
}

/** A backend accepting upgrades, echoing `name:` + what it receives; records the paths. */
export async function upgradeBackend(name: string): Promise<{ url: string; paths: string[] }> {
  const paths: string[] = [];
  const sockets = new Set<Duplex>();
  const server = http.createServer((_req, res) => res.end('plain'));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    paths.push(req.url ?? '');
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
    );
    socket.on('data', (chunk: Buffer) => socket.write(`${name}:${chunk}`));
  });
  const port = await listen(server);
  onTestFinished(() => {
    for (const socket of sockets) socket.destroy();
    return closeServer(server);
  });
  return { url: `http://127.0.0.1:${port}`, paths };
}

export function echoOnce(socket: Duplex, text: string): Promise<string> {
  return new Promise((resolve) => {
    socket.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    socket.write(text);
  });
}
