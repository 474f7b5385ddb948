import http from 'node:http';
import { expect, it, onTestFinished } from 'vitest';
import {
  closeServer,
  eventually,
  failOnProcessProblems,
  listen,
  makePool,
  startProxy,
} from '../http/proxy-support.js';

// 2 000 requests that the client abandons mid-flight must leave nothing behind: no
// request still open on a backend, no upstream socket beyond idle keep-alive ones, no
// lease out, no endpoint blamed, no unhandled rejection, no write after the headers.

const TOTAL = 2_000;
const CONCURRENCY = 50;
const UPLOAD_BYTES = 1024 * 1024;

failOnProcessProblems();

/** Calls the waiter registered for a request id, once the backend reached that point. */
type Arrivals = Map<string, () => void>;

interface LeakBackend {
  readonly url: string;
  readonly server: http.Server;
  /** Requests whose response has not closed yet. */
  inProgress(): number;
  /** Open connections. */
  connections(): number;
  /** Requests received. */
  requests(): number;
}

/**
 * `/hold` never answers; `/stream` sends headers and then 1 KiB every 5 ms (at most 10 s);
 * `/upload` reads the body and never answers. Each reports its arrival (for `/upload`, its
 * first body bytes) through `arrivals`.
 */
async function leakBackend(arrivals: Arrivals): Promise<LeakBackend> {
  let inProgress = 0;
  let connections = 0;
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    inProgress++;
    const id = String(req.headers['x-id']);
    let timer: NodeJS.Timeout | undefined;
    res.on('close', () => {
      inProgress--;
      clearInterval(timer);
    });
    req.on('error', () => {});
    if (req.url === '/upload') {
      req.once('data', () => arrivals.get(id)?.());
      req.resume();
      return;
    }
    req.resume();
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(1024));
      let chunks = 1;
      timer = setInterval(() => {
        if (++chunks >= 2_000) {
          clearInterval(timer);
          res.end();
        } else res.write(Buffer.alloc(1024));
      }, 5);
    }
    arrivals.get(id)?.();
  });
  server.on('connection', (socket) => {
    connections++;
    socket.on('close', () => connections--);
  });
  const port = await listen(server);
  onTestFinished(() => closeServer(server));
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    inProgress: () => inProgress,
    connections: () => connections,
    requests: () => requests,
  };
}

type Kind = 'early' | 'buffering' | 'hold' | 'stream' | 'upload';
const KINDS: readonly Kind[] = ['early', 'buffering', 'hold', 'stream', 'upload'];

/**
 * One request abandoned by the client (`req.destroy()`):
 * - early: right after sending it, before the proxy may even have read it;
 * - buffering: in the middle of a 32 KiB body, which the proxy buffers (it is replayable)
 *   before choosing an endpoint;
 * - hold: once the backend has it, before any response header;
 * - stream: after the first chunk of a streamed response body;
 * - upload: in the middle of a 1 MiB request body the backend is reading.
 * Resolves with whether the abort came at the intended point, once the client socket closed.
 */
function abandoned(url: string, kind: Kind, id: string, arrivals: Arrivals): Promise<boolean> {
  return new Promise((resolve) => {
    let onPoint = kind === 'early' || kind === 'buffering';
    const path = kind === 'early' || kind === 'buffering' ? '/hold' : `/${kind}`;
    const headers: http.OutgoingHttpHeaders = { 'x-id': id };
    const uploading = kind === 'upload' || kind === 'buffering';
    if (uploading) {
      headers['content-length'] = kind === 'upload' ? UPLOAD_BYTES : 32 * 1024;
      headers['content-type'] = 'application/octet-stream';
    }
    const req = http.request(`${url}${path}`, {
      method: uploading ? 'POST' : 'GET',
      agent: false,
      headers,
    });
    // A fallback so that no request can hang the test; counted as "not on point".
    const fallback = setTimeout(() => req.destroy(), 5_000);
    const abort = (): void => {
      onPoint = true;
      req.destroy();
    };
    req.on('error', () => {});
    req.on('close', () => {
      clearTimeout(fallback);
      arrivals.delete(id);
      resolve(onPoint);
    });
    if (kind === 'stream') {
      req.on('response', (res) => {
        res.on('error', () => {});
        res.once('data', abort);
      });
    } else if (kind === 'hold' || kind === 'upload') {
      arrivals.set(id, abort);
    }
    if (kind === 'upload') req.write(Buffer.alloc(128 * 1024));
    else if (kind === 'buffering') req.write(Buffer.alloc(8 * 1024), () => req.destroy());
    else req.end();
    if (kind === 'early') setImmediate(() => req.destroy());
  });
}

it(`${TOTAL} requests aborted mid-flight leave no upstream request, socket or lease behind`, async () => {
  const arrivals: Arrivals = new Map();
  const backends = [await leakBackend(arrivals), await leakBackend(arrivals)];
  const pool = makePool(backends.map((b) => b.url));
  const { url, proxy, server } = await startProxy(pool);
  let clientConnections = 0;
  server.on('connection', (socket) => {
    clientConnections++;
    socket.on('close', () => clientConnections--);
  });

  const onPoint = new Map<Kind, number>(KINDS.map((kind) => [kind, 0]));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < TOTAL) {
      const i = next++;
      const kind = KINDS[i % KINDS.length]!;
      if (await abandoned(url, kind, String(i), arrivals)) {
        onPoint.set(kind, onPoint.get(kind)! + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));

  // Every abort came where it was meant to (the backend had the request, the response
  // body had started, the upload was being read).
  for (const kind of KINDS) expect(onPoint.get(kind), kind).toBe(TOTAL / KINDS.length);
  const reached = backends.reduce((n, b) => n + b.requests(), 0);
  expect(reached).toBeGreaterThanOrEqual((TOTAL * 3) / KINDS.length);
  // A body being buffered never reaches an endpoint: those requests stopped at the proxy.
  expect(reached).toBeLessThanOrEqual((TOTAL * 4) / KINDS.length);

  // No request is still open on any backend: each aborted one was torn down upstream.
  await eventually(() => backends.every((b) => b.inProgress() === 0), 10_000);
  // What stays open upstream is idle (no request on it), and no more than the concurrency.
  const open = backends.reduce((n, b) => n + b.connections(), 0);
  expect(open).toBeLessThanOrEqual(CONCURRENCY);

  // No lease out, and the client's aborts were nobody's failure.
  const snapshot = pool.snapshot();
  expect(snapshot.totals.inflight).toBe(0);
  for (const endpoint of snapshot.endpoints) {
    expect(endpoint.inflight, endpoint.id).toBe(0);
    expect(endpoint.failures, endpoint.id).toBe(0);
  }
  // Every client connection to the proxy is gone.
  await eventually(() => clientConnections === 0);

  // A graceful close completes only if no upstream request is stuck; then no socket is left.
  await proxy.close();
  await eventually(() => backends.every((b) => b.connections() === 0), 5_000);
  expect(arrivals.size).toBe(0);
}, 60_000);
