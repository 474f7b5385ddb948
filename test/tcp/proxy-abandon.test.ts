import { createHook } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';
import net, { type Server } from 'node:net';
import { expect, it } from 'vitest';
import { failOnProcessProblems } from '../http/proxy-support.js';
import {
  echoBackend,
  eventually,
  refusedTcpUrl,
  startTcpProxy,
  tcpBackend,
  tcpPool,
} from './support.js';

// 2 000 client connections that go away in every rude way — closed at once, reset at once,
// reset mid-flood, silent, gone while the proxy is still connecting — must leave no socket,
// no lease and no timer behind, and no error escapes.

failOnProcessProblems();

const TOTAL = 2_000;
const CONCURRENCY = 100;

function sockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
}

/** The sockets the process holds open, by kind and state, for a failure message. */
function describeSockets(): string {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles
    .map((h) => {
      if (!(h instanceof net.Socket)) return (h as object | null)?.constructor?.name ?? String(h);
      const handle = (h as unknown as { _handle: object | null })._handle;
      return (
        `${handle?.constructor?.name ?? 'closing'} ${h.localAddress}:${h.localPort}->${h.remoteAddress}:${h.remotePort} ` +
        `destroyed=${h.destroyed} closed=${h.closed} readable=${h.readable} writable=${h.writable} ` +
        `ended=${h.writableEnded} finished=${h.writableFinished} buffered=${h.writableLength}`
      );
    })
    .join('; ');
}

it(`${TOTAL} abandoned connections leave no socket, lease or timer`, {
  timeout: 120_000,
}, async () => {
  const echo = await echoBackend();
  // A slow sink: it reads nothing for 100 ms, so floods fill the buffers and stall. (A
  // peer's FIN or reset is seen when its socket is read: a side held paused by
  // backpressure learns of it once the other side drains, or at the idle timeout.)
  const sink = await tcpBackend((socket) => {
    socket.pause();
    setTimeout(() => socket.resume(), 100);
  });
  const refused = await refusedTcpUrl();
  const pool = tcpPool([echo.url, refused, sink.url]);
  const { server, port } = await startTcpProxy(pool, { idleTimeoutMs: 10_000 });
  const baseline = sockets();
  // Every connection the proxy accepted must be closed and told (switchyard:tcp:close), and
  // every socket it or the test opened must emit 'close': a socket Node cannot finish
  // closing never does.
  let accepted = 0;
  (server as unknown as Server).on('connection', () => accepted++);
  let closedConnections = 0;
  const onClose = () => closedConnections++;
  diagnostics.subscribe('switchyard:tcp:close', onClose);
  const opened = new Set<net.Socket>();
  let tracked = 0;
  const track = (message: unknown) => {
    const socket = (message as { socket: net.Socket }).socket;
    tracked++;
    opened.add(socket);
    socket.once('close', () => opened.delete(socket));
  };
  diagnostics.subscribe('net.client.socket', track);
  diagnostics.subscribe('net.server.socket', track);

  // Timers the proxy started (its sockets' timeouts included), told apart from the test
  // runner's own by where they were created.
  const live = new Set<number>();
  let created = 0;
  const hook = createHook({
    init(id, type) {
      if (type !== 'Timeout') return;
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 40;
      const stack = new Error().stack ?? '';
      Error.stackTraceLimit = limit;
      if (!stack.includes('/src/tcp/')) return;
      live.add(id);
      created++;
    },
    destroy(id) {
      live.delete(id);
    },
  });
  hook.enable();
  const flood = Buffer.alloc(64 * 1024, 1);

  async function one(i: number): Promise<void> {
    const client = net.connect(port, '127.0.0.1');
    client.on('error', () => {});
    const closed = new Promise((resolve) => client.once('close', resolve));
    await new Promise<void>((resolve) => {
      client.once('connect', resolve);
      client.once('close', () => resolve());
    });
    switch (i % 5) {
      case 0: // gone at once
        client.destroy();
        break;
      case 1: // reset at once
        if (!client.destroyed) client.resetAndDestroy();
        break;
      case 2: // a flood, then a reset
        for (let n = 0; n < 8; n++) client.write(flood);
        setTimeout(() => client.destroyed || client.resetAndDestroy(), 2);
        break;
      case 3: // silent for a moment, then gone
        setTimeout(() => client.destroy(), 5);
        break;
      default: // half a request and a FIN, then gone before any answer
        client.end('GET / HT');
        setTimeout(() => client.destroy(), 1);
    }
    await closed;
  }

  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < TOTAL && Date.now() - started < 40_000) await one(next++);
    }),
  );
  expect(next).toBe(TOTAL);

  await eventually(() => pool.snapshot().totals.inflight === 0, 10_000);
  const open = () =>
    new Promise<number>((resolve, reject) =>
      (server as unknown as Server).getConnections((error, count) =>
        error ? reject(error) : resolve(count),
      ),
    );
  await eventually(() => echo.sockets.size === 0 && sink.sockets.size === 0, 10_000);
  expect(await open()).toBe(0);
  await eventually(() => opened.size === 0 && closedConnections === accepted, 10_000).catch(() => {
    throw new Error(
      `${opened.size} socket(s) never closed, ${accepted - closedConnections} connection(s) never told closed: ${describeSockets()}`,
    );
  });
  diagnostics.unsubscribe('net.client.socket', track);
  diagnostics.unsubscribe('net.server.socket', track);
  diagnostics.unsubscribe('switchyard:tcp:close', onClose);
  // Clients, the proxy's both sides, the backends' side: at least three per connection.
  expect(tracked).toBeGreaterThan(3 * TOTAL);
  // (A connection reset while still in the accept queue may never reach the proxy.)
  expect(accepted).toBeGreaterThan(TOTAL * 0.9);
  expect(accepted).toBeLessThanOrEqual(TOTAL);
  // Every socket emitted 'close' above, so the handles are gone too; if not, the message
  // names every socket still open.
  try {
    await eventually(() => sockets() <= baseline, 10_000);
  } catch (error) {
    throw new Error(`sockets left (baseline ${baseline}): ${describeSockets()}`, { cause: error });
  }
  // Destroy hooks run a little later: let them, with no timer of our own, then count.
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  hook.disable();
  expect(live.size).toBe(0);
  // The filter does see the proxy's timers (its idle sweep and its connect deadlines).
  expect(created).toBeGreaterThan(0);
  const totals = pool.snapshot().totals;
  expect(totals.requests).toBeGreaterThanOrEqual(TOTAL);
  // Only the refused endpoint is blamed: the clients' rudeness counts against nobody.
  const [echoStats, refusedStats, sinkStats] = pool.snapshot().endpoints;
  expect(echoStats!.failures).toBe(0);
  expect(sinkStats!.failures).toBe(0);
  expect(refusedStats!.successes).toBe(0);
});
