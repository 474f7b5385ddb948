/**
 * The proxy side of `npm run soak` (scripts/soak.ts): a `Pool` over the backends the parent
 * started, a `HealthMonitor`, and `createProxyHandler` behind `http.createServer`, from the
 * build and through public names only. It runs in a process of its own so that its memory
 * is measured alone, not mixed with the load generator's and the backends'.
 *
 * Over IPC: it sends `ready` with its port, answers `stats` (after a GC when it can), and on
 * `finish` checks that nothing is left (leases, client sockets), closes everything, checks
 * its own sockets, and sends `finished` with what it found.
 */
import diagnostics from 'node:diagnostics_channel';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createProxyHandler, httpCheck } from '../dist/http.js';
import { HealthMonitor, Pool } from '../dist/index.js';

/** What the proxy process reports every few seconds. */
export interface ProxyStats {
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly arrayBuffers: number;
  /** Event-loop delay since the last report, ms. */
  readonly delayP50: number;
  readonly delayP99: number;
  readonly delayMax: number;
  /** Leases not released. */
  readonly inflight: number;
  /** Client connections open on the proxy's server. */
  readonly clientSockets: number;
  readonly ejected: number;
  readonly unhealthy: number;
  /** Samples (10 a second) that found the pool in panic, since the start. */
  readonly panics: number;
  /** The proxy's own error answers and resets, by error code. */
  readonly proxyErrors: ReadonlyArray<readonly [string, number]>;
  /** Retries by reason. */
  readonly retries: ReadonlyArray<readonly [string, number]>;
  /** Uncaught exceptions and unhandled rejections in this process. */
  readonly problems: readonly string[];
}

/** Messages from the parent. */
export type ToProxy = { readonly type: 'stats' } | { readonly type: 'finish' };

/** Messages to the parent. */
export type FromProxy =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'stats'; readonly stats: ProxyStats }
  | { readonly type: 'finished'; readonly failures: readonly string[] };

const send = (message: FromProxy): void => {
  process.send?.(message);
};

const problems: string[] = [];
process.on('uncaughtException', (error) => problems.push(`uncaught exception: ${error?.stack}`));
process.on('unhandledRejection', (error) =>
  problems.push(`unhandled rejection: ${(error as Error)?.stack ?? String(error)}`),
);

const ports = (process.env.SOAK_BACKENDS ?? '').split(',').filter((p) => p !== '');
if (ports.length === 0 || process.send === undefined) {
  console.error('soak-proxy: started by scripts/soak.ts (SOAK_BACKENDS and an IPC channel)');
  process.exit(2);
}

const pool = new Pool({ endpoints: ports.map((port) => `http://127.0.0.1:${port}`) });
const monitor = new HealthMonitor(pool, {
  check: httpCheck({ path: '/healthz' }),
  intervalMs: 1_000,
  timeoutMs: 500,
  unhealthyIntervalMs: 500,
});
monitor.start();
const proxy = createProxyHandler(pool);
const clientSockets = new Set<Socket>();
const server = http.createServer(proxy);
server.on('upgrade', proxy.upgrade);
server.on('connection', (socket: Socket) => {
  clientSockets.add(socket);
  socket.on('close', () => clientSockets.delete(socket));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

const proxyErrors = new Map<string, number>();
const retries = new Map<string, number>();
const count = (table: Map<string, number>, kind: string) =>
  table.set(kind, (table.get(kind) ?? 0) + 1);
const onProxyError = (message: unknown) => {
  const error = (message as { error?: { code?: unknown; name?: unknown } }).error;
  count(proxyErrors, String(error?.code ?? error?.name ?? 'unknown'));
};
const onRetry = (message: unknown) =>
  count(retries, String((message as { reason?: unknown }).reason));
diagnostics.subscribe('switchyard:proxy:error', onProxyError);
diagnostics.subscribe('switchyard:proxy:retry', onRetry);

let panics = 0;
const panicProbe = setInterval(() => {
  if (pool.snapshot().panic) panics++;
}, 100);
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const gc = (globalThis as { gc?: () => void }).gc;

function stats(): ProxyStats {
  gc?.();
  const memory = process.memoryUsage();
  const { totals } = pool.snapshot();
  const result: ProxyStats = {
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    heapTotal: memory.heapTotal,
    arrayBuffers: memory.arrayBuffers,
    delayP50: delay.percentile(50) / 1e6,
    delayP99: delay.percentile(99) / 1e6,
    delayMax: delay.max / 1e6,
    inflight: totals.inflight,
    clientSockets: clientSockets.size,
    ejected: totals.ejected,
    unhealthy: totals.unhealthy,
    panics,
    proxyErrors: [...proxyErrors],
    retries: [...retries],
    problems: problems.slice(0, 20),
  };
  delay.reset();
  return result;
}

async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const until = performance.now() + ms;
  while (!check()) {
    if (performance.now() > until) return false;
    await sleep(50);
  }
  return true;
}

/** The parent has stopped its load and closed its client: nothing may be left here. */
async function finish(): Promise<string[]> {
  const failures: string[] = [];
  clearInterval(panicProbe);
  if (!(await eventually(() => pool.snapshot().totals.inflight === 0, 5_000))) {
    failures.push(
      `leaked lease: pool inflight is ${pool.snapshot().totals.inflight} after every request ended`,
    );
  }
  if (!(await eventually(() => clientSockets.size === 0, 10_000))) {
    failures.push(
      `leaked socket: ${clientSockets.size} client connection(s) still open on the proxy`,
    );
  }
  await proxy.close();
  await monitor.stop();
  diagnostics.unsubscribe('switchyard:proxy:error', onProxyError);
  diagnostics.unsubscribe('switchyard:proxy:retry', onRetry);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await pool.close();
  const sockets = () =>
    process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
  if (!(await eventually(() => sockets() === 0, 5_000))) {
    failures.push(`leaked socket: ${sockets()} TCP socket(s) still open in the proxy process`);
  }
  failures.push(...problems);
  return failures;
}

process.on('message', (message: ToProxy) => {
  if (message.type === 'stats') send({ type: 'stats', stats: stats() });
  else if (message.type === 'finish') {
    void finish().then((failures) => {
      send({ type: 'finished', failures });
      process.disconnect?.();
    });
  }
});
send({ type: 'ready', port: (server.address() as AddressInfo).port });
