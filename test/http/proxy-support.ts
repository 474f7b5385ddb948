import http, { type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, expect, onTestFinished } from 'vitest';
import {
  createProxyHandler,
  type PoolRouter,
  type ProxyHandler,
  type ProxyOptions,
} from '../../src/http/index.js';
import type { PoolOptions } from '../../src/pool/options.js';
import { Pool } from '../../src/pool/pool.js';
import type { PoolEndpoint } from '../../src/pool/types.js';
import { type PickContext, RoundRobin, type Selector } from '../../src/selectors/index.js';

/** A backend on 127.0.0.1 that records what it received. */
export interface Backend {
  readonly url: string;
  readonly port: number;
  readonly server: http.Server;
  /** Requests received, in order. */
  readonly requests: ReceivedRequest[];
}

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly rawHeaders: string[];
  body: Buffer;
}

/**
 * Starts a backend; `handler` runs after the request body was read into `received.body`
 * unless `streaming` is set (then it runs at once, with the body unread).
 */
export async function startBackend(
  handler: (req: IncomingMessage, res: ServerResponse, received: ReceivedRequest) => void,
  options: { streaming?: boolean } = {},
): Promise<Backend> {
  const requests: ReceivedRequest[] = [];
  const server = http.createServer((req, res) => {
    const received: ReceivedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: Buffer.alloc(0),
    };
    requests.push(received);
    if (options.streaming) {
      handler(req, res, received);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.body = Buffer.concat(chunks);
      handler(req, res, received);
    });
  });
  const port = await listen(server);
  onTestFinished(() => closeServer(server));
  return { url: `http://127.0.0.1:${port}`, port, server, requests };
}

/** A backend answering 200 with `name` as the body, echoing the path in `x-path`. */
export function namedBackend(name: string): Promise<Backend> {
  return startBackend((req, res) => {
    res.writeHead(200, {
      'content-type': 'text/plain',
      'x-backend': name,
      'x-path': req.url ?? '',
    });
    res.end(name);
  });
}

/** A backend that drops the connection as soon as a request (and its body) arrived. */
export function resettingBackend(): Promise<Backend> {
  return startBackend((req) => req.socket.destroy());
}

/** A backend answering `status` with a body naming itself (`a says 503`). */
export function statusBackend(
  status: number,
  name: string,
  headers: Record<string, string> = {},
): Promise<Backend> {
  return startBackend((_req, res) => {
    res.writeHead(status, { 'x-backend': name, ...headers });
    res.end(`${name} says ${status}`);
  });
}

export function listen(server: http.Server | net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

export function closeServer(server: http.Server | net.Server): Promise<void> {
  return new Promise((resolve) => {
    (server as http.Server).closeAllConnections?.();
    server.close(() => resolve());
  });
}

/** A loopback port that was listened on and closed: connecting to it is refused at once. */
export async function refusedUrl(): Promise<string> {
  const server = net.createServer();
  const port = await listen(server);
  await closeServer(server);
  return `http://127.0.0.1:${port}`;
}

/** A pool over `urls`, round robin in order (a fixed start), with outlier detection off. */
export function makePool(urls: readonly string[], options: PoolOptions = {}): Pool {
  const pool = new Pool({
    endpoints: urls,
    selector: new RoundRobin({ random: () => 0 }),
    outlierDetection: false,
    ...options,
  });
  onTestFinished(() => pool.close());
  return pool;
}

/** A selector that always picks the first endpoint not excluded, in pool order. */
export class FirstAvailable implements Selector<PoolEndpoint> {
  #endpoints: readonly PoolEndpoint[] = [];
  update(endpoints: readonly PoolEndpoint[]): void {
    this.#endpoints = endpoints;
  }
  pick(context?: PickContext<PoolEndpoint>): PoolEndpoint | undefined {
    return this.#endpoints.find((e) => !context?.exclude?.has(e.id));
  }
}

/** Starts a proxy server in front of `pool` (or the pools a router picks). */
export async function startProxy(
  pool: Pool | PoolRouter,
  options?: ProxyOptions,
  wrap?: (proxy: ProxyHandler) => RequestListener,
): Promise<{ url: string; port: number; proxy: ProxyHandler; server: http.Server }> {
  const proxy = createProxyHandler(pool, options);
  const server = http.createServer(wrap ? wrap(proxy) : proxy);
  server.on('upgrade', proxy.upgrade);
  const port = await listen(server);
  onTestFinished(async () => {
    await closeServer(server);
    await proxy.close({ force: true });
  });
  return { url: `http://127.0.0.1:${port}`, port, proxy, server };
}

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** One request on a fresh connection (no agent), body read in full. */
export function send(
  url: string,
  options: {
    method?: string;
    path?: string;
    headers?: http.OutgoingHttpHeaders;
    body?: string | Buffer;
  } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const target = new URL(options.path ?? '/', url);
    const req = http.request(
      target,
      { method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Sends raw bytes and collects everything until the server closes (or `untilText` shows up). */
export function rawExchange(port: number, text: string, untilText?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(data);
    }, 5_000);
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      if (untilText !== undefined && data.includes(untilText)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(data);
      }
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      if (data) resolve(data);
      else reject(error);
    });
    socket.write(text);
  });
}

/** Resolves when `check()` holds, polling every 10 ms for at most `ms`. */
export async function eventually(check: () => boolean, ms = 3_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Fails the test file when an unhandled rejection, an uncaught exception or an
 * `ERR_HTTP_HEADERS_SENT` / `MaxListeners` warning happened while it ran. Call once, at the
 * top of the file.
 */
export function failOnProcessProblems(): void {
  const problems: unknown[] = [];
  const onProblem = (error: unknown) => problems.push(error);
  const onWarning = (warning: Error) => {
    if (/ERR_HTTP_HEADERS_SENT|MaxListeners/.test(`${warning.name} ${warning.message}`)) {
      problems.push(warning);
    }
  };
  process.on('unhandledRejection', onProblem);
  process.on('uncaughtException', onProblem);
  process.on('warning', onWarning);
  afterAll(() => {
    process.off('unhandledRejection', onProblem);
    process.off('uncaughtException', onProblem);
    process.off('warning', onWarning);
    expect(problems).toEqual([]);
  });
}
