import { createHash } from 'node:crypto';
import net, { type AddressInfo, type Server, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { onTestFinished } from 'vitest';
import type { Pool } from '../../src/pool/pool.js';
import { createTcpProxy, type TcpProxyOptions, type TcpProxyServer } from '../../src/tcp/index.js';
import { makePool } from '../http/proxy-support.js';

export { eventually } from '../http/proxy-support.js';

/** A TCP server on 127.0.0.1 whose sockets are tracked and destroyed at the end of the test. */
export interface TcpBackend {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  /** Sockets currently open on the server side. */
  readonly sockets: Set<Socket>;
  /** Connections accepted so far. */
  accepted(): number;
}

export async function tcpBackend(
  onSocket: (socket: Socket) => void,
  options: net.ServerOpts = {},
): Promise<TcpBackend> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = net.createServer(options, (socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    onSocket(socket);
  });
  const port = await listenOn(server);
  onTestFinished(async () => {
    for (const socket of sockets) socket.destroy();
    if (server.listening) await new Promise((resolve) => server.close(resolve));
  });
  return { server, port, url: `tcp://127.0.0.1:${port}`, sockets, accepted: () => accepted };
}

/** An echo server that keeps half-close: the client's FIN comes back as a FIN. */
export function echoBackend(): Promise<TcpBackend> {
  return tcpBackend((socket) => socket.pipe(socket), { allowHalfOpen: true });
}

export function listenOn(server: Server, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port));
  });
}

/** A loopback port that was listened on and closed: connecting to it is refused at once. */
export async function refusedTcpUrl(): Promise<string> {
  const server = net.createServer();
  const port = await listenOn(server);
  await new Promise((resolve) => server.close(resolve));
  return `tcp://127.0.0.1:${port}`;
}

const BLACKHOLE = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const server = net.createServer();
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  parentPort.postMessage(server.address().port);
  Atomics.wait(workerData.flag, 0, 0);
  process.exit(0);
});`;

/**
 * A loopback port where connecting hangs: a listener with a backlog of 1 in a worker thread
 * whose event loop is then blocked (so it never accepts), and its accept queue filled by
 * two connections. Linux drops the SYNs of later connections while the queue is full, so
 * they stay in SYN-SENT until they time out. Everything is released at the end of the test.
 */
export async function blackholeTcpUrl(): Promise<string> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(BLACKHOLE, { eval: true, workerData: { flag } });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const fillers: Socket[] = [];
  let connected = 0;
  for (let i = 0; i < 3; i++) {
    const socket = net.connect(port, '127.0.0.1', () => connected++);
    socket.on('error', () => {});
    fillers.push(socket);
  }
  const until = Date.now() + 2_000;
  while (connected < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  onTestFinished(async () => {
    for (const socket of fillers) socket.destroy();
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    await exited;
  });
  return `tcp://127.0.0.1:${port}`;
}

/** A pool over `urls`, round robin in order (a fixed start), outlier detection off. */
export const tcpPool = makePool;

/** Starts a TCP proxy on 127.0.0.1 in front of `pool`, closed (drain 0) at the end of the test. */
export async function startTcpProxy(
  pool: Pool,
  options?: TcpProxyOptions,
): Promise<{ server: TcpProxyServer; port: number }> {
  const server = createTcpProxy(pool, options);
  const port = await listenOn(server as unknown as Server);
  onTestFinished(() => server.close({ drainMs: 0 }));
  return { server, port };
}

/** A client connected to `port` on 127.0.0.1 (destroyed at the end of the test). */
export async function dial(
  port: number,
  options: { allowHalfOpen?: boolean } = {},
): Promise<Socket> {
  const socket = net.connect({
    port,
    host: '127.0.0.1',
    allowHalfOpen: options.allowHalfOpen ?? false,
  });
  onTestFinished(() => {
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return socket;
}

/** How a socket's reading side ended, and what it read. */
export interface Received {
  readonly data: Buffer;
  /** `end` for a FIN, else the error code (`ECONNRESET`) or `close`. */
  readonly how: string;
}

/** Reads a socket to its end (FIN, error or close). */
export function receive(socket: Socket): Promise<Received> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let how: string | undefined;
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => {
      how ??= 'end';
      resolve({ data: Buffer.concat(chunks), how });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      how ??= error.code ?? 'error';
    });
    socket.once('close', () => {
      how ??= 'close';
      resolve({ data: Buffer.concat(chunks), how });
    });
  });
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
