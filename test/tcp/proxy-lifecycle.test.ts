import diagnostics from 'node:diagnostics_channel';
import net, { type Server, type Socket } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Pool } from '../../src/pool/pool.js';
import type { PoolEndpoint } from '../../src/pool/types.js';
import { LeastConnections, Maglev } from '../../src/selectors/index.js';
import { createTcpProxy, type TcpCloseMessage } from '../../src/tcp/index.js';
import { failOnProcessProblems } from '../http/proxy-support.js';
import {
  blackholeTcpUrl,
  dial,
  echoBackend,
  eventually,
  listenOn,
  receive,
  startTcpProxy,
  tcpBackend,
  tcpPool,
} from './support.js';

failOnProcessProblems();

function closes(): TcpCloseMessage[] {
  const messages: TcpCloseMessage[] = [];
  const listener = (message: unknown) => messages.push(message as TcpCloseMessage);
  diagnostics.subscribe('switchyard:tcp:close', listener);
  onTestFinished(() => {
    diagnostics.unsubscribe('switchyard:tcp:close', listener);
  });
  return messages;
}

async function echoOnce(port: number, text: string): Promise<string> {
  const client = await dial(port);
  const got = receive(client);
  client.end(text);
  return (await got).data.toString();
}

describe('createTcpProxy: idle timeout', () => {
  it('closes both sides after idleTimeoutMs without a byte either way', async () => {
    let upstream: Promise<string> | undefined;
    const backend = await tcpBackend((socket) => {
      upstream = receive(socket).then((r) => r.how);
    });
    const pool = tcpPool([backend.url]);
    const ended = closes();
    const { port } = await startTcpProxy(pool, { idleTimeoutMs: 150 });
    const client = await dial(port);
    const got = receive(client);
    const started = Date.now();
    // Traffic keeps it open …
    for (let i = 0; i < 4; i++) {
      client.write('tick');
      await new Promise((r) => setTimeout(r, 60));
    }
    expect(client.destroyed).toBe(false);
    // … silence closes it.
    await got;
    // The last byte moved at about 180 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(180 + 140);
    await eventually(() => upstream !== undefined);
    await upstream;
    await eventually(() => ended.length === 1);
    expect(ended[0]!.reason).toBe('idle');
    expect(pool.snapshot().totals.inflight).toBe(0);
  });

  it('counts bytes from the upstream as activity too', async () => {
    const backend = await tcpBackend((socket) => {
      let n = 0;
      const timer = setInterval(() => {
        if (++n > 5) {
          clearInterval(timer);
          socket.end();
        } else socket.write('tick');
      }, 60);
      socket.on('close', () => clearInterval(timer));
    });
    const pool = tcpPool([backend.url]);
    const { port } = await startTcpProxy(pool, { idleTimeoutMs: 150 });
    const client = await dial(port);
    // Only the upstream talks, every 60 ms for 300 ms: the connection stays open to its end.
    const { data, how } = await receive(client);
    expect(how).toBe('end');
    expect(data.toString()).toBe('tick'.repeat(5));
  });

  it('closes a silent client, even while its upstream is still connecting', async () => {
    const hanging = await blackholeTcpUrl();
    const pool = tcpPool([hanging]);
    const ended = closes();
    // No connect timeout: only the idle timeout ends the wait.
    const { port } = await startTcpProxy(pool, { idleTimeoutMs: 150, connectTimeoutMs: 0 });
    const client = await dial(port);
    await eventually(() => pool.snapshot().totals.inflight === 1);
    const { data } = await receive(client);
    expect(data.length).toBe(0);
    await eventually(() => ended.length === 1);
    expect(ended[0]!.reason).toBe('idle');
    await eventually(() => pool.snapshot().totals.inflight === 0);
    // The endpoint is not blamed for a client that said nothing.
    expect(pool.snapshot().endpoints[0]).toMatchObject({ failures: 0 });
  });

  it('idleTimeoutMs: 0 never times out', async () => {
    const backend = await echoBackend();
    const pool = tcpPool([backend.url]);
    const { port } = await startTcpProxy(pool, { idleTimeoutMs: 0 });
    const client = await dial(port);
    await new Promise((r) => setTimeout(r, 200));
    expect(client.destroyed).toBe(false);
  });
});

describe('createTcpProxy: close({ drainMs })', () => {
  it('stops accepting, lets open connections finish, and leaves nothing behind', async () => {
    const backend = await echoBackend();
    const pool = tcpPool([backend.url]);
    const server = createTcpProxy(pool);
    const port = await listenOn(server as unknown as Server);
    const client = await dial(port);
    await eventually(() => backend.sockets.size === 1);
    let closed = false;
    const closing = server.close({ drainMs: 5_000 }).then(() => (closed = true));
    expect(server.close()).toBe(server.close()); // idempotent: the same promise
    // No new connection is accepted …
    await expect(
      new Promise((resolve, reject) => {
        const late = net.connect(port, '127.0.0.1', () => resolve(late));
        late.on('error', reject);
      }),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    // … while the open one still carries bytes.
    const got = receive(client);
    client.write('still ');
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(false);
    client.end('working');
    expect((await got).data.toString()).toBe('still working');
    await closing;
    expect(server.listening).toBe(false);
    expect(pool.snapshot().totals.inflight).toBe(0);
    await eventually(() => backend.sockets.size === 0);
    expect(pool.closed).toBe(false); // the proxy never closes the pool
  });

  it('resets connections still open after drainMs', async () => {
    const backend = await echoBackend();
    const pool = tcpPool([backend.url]);
    const ended = closes();
    const server = createTcpProxy(pool);
    const port = await listenOn(server as unknown as Server);
    const clients = await Promise.all([dial(port), dial(port), dial(port)]);
    await eventually(() => backend.sockets.size === 3);
    const got = clients.map((c) => receive(c));
    const started = Date.now();
    await server.close({ drainMs: 100 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    for (const r of await Promise.all(got)) expect(r.how).toBe('ECONNRESET');
    expect(ended.map((m) => m.reason)).toEqual(['drain', 'drain', 'drain']);
    expect(pool.snapshot().totals.inflight).toBe(0);
    await eventually(() => backend.sockets.size === 0);
  });

  it('a second close can shorten the drain; await using closes too', async () => {
    const backend = await echoBackend();
    const pool = tcpPool([backend.url]);
    const server = createTcpProxy(pool);
    const port = await listenOn(server as unknown as Server);
    const client = await dial(port);
    const got = receive(client);
    await eventually(() => backend.sockets.size === 1);
    const first = server.close({ drainMs: 60_000 });
    const started = Date.now();
    await server.close({ drainMs: 0 });
    await first;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await got).how).toBe('ECONNRESET');

    const other = createTcpProxy(pool);
    {
      await using _proxy = other;
      await listenOn(other as unknown as Server);
    }
    expect(other.listening).toBe(false);
  });

  it('close(callback) works as on a plain net.Server', async () => {
    const pool = tcpPool([(await echoBackend()).url]);
    const server = createTcpProxy(pool);
    await listenOn(server as unknown as Server);
    await new Promise<void>((resolve) => (server as unknown as Server).close(() => resolve()));
    expect(server.listening).toBe(false);
  });
});

describe('createTcpProxy: the pool', () => {
  it('keeps the connections of an endpoint that is drained from the pool', async () => {
    const a = await echoBackend();
    const b = await echoBackend();
    const pool = tcpPool([a.url, b.url]);
    const { port } = await startTcpProxy(pool);
    const first = await dial(port); // round robin: a
    await eventually(() => a.sockets.size === 1);
    pool.remove(a.url, { drain: true });
    expect(pool.get(a.url)?.state).toBe('draining');
    // New connections go elsewhere …
    expect(await echoOnce(port, 'new')).toBe('new');
    expect(b.accepted()).toBe(1);
    // … while the open one still works, and the endpoint leaves when it closes.
    const got = receive(first);
    first.end('old');
    expect((await got).data.toString()).toBe('old');
    await eventually(() => pool.get(a.url) === undefined);
    expect(pool.snapshot().totals.inflight).toBe(0);
  });

  it('LeastConnections balances open connections', async () => {
    const backends = [await echoBackend(), await echoBackend(), await echoBackend()];
    const pool = new Pool({
      endpoints: backends.map((b) => b.url),
      selector: new LeastConnections({ random: () => 0 }),
      outlierDetection: false,
    });
    onTestFinished(() => pool.close());
    const { port } = await startTcpProxy(pool);
    // Nine long-lived connections, opened one after another: three on each endpoint.
    const clients: Socket[] = [];
    for (let i = 0; i < 9; i++) {
      clients.push(await dial(port));
      await eventually(() => pool.snapshot().totals.inflight === i + 1);
    }
    expect(pool.snapshot().endpoints.map((e) => e.inflight)).toEqual([3, 3, 3]);
    // Close two on the first endpoint's side: the next two connections go there.
    const onFirst = [...backends[0]!.sockets];
    for (const socket of onFirst.slice(0, 2)) socket.end();
    await eventually(() => pool.snapshot().endpoints[0]!.inflight === 1);
    for (let i = 0; i < 2; i++) {
      clients.push(await dial(port));
      await eventually(() => pool.snapshot().totals.inflight === 8 + i);
    }
    expect(pool.snapshot().endpoints.map((e) => e.inflight)).toEqual([3, 3, 3]);
    await eventually(() => backends[0]!.accepted() === 5);
  });

  it('affinity by ip sends one client address to one endpoint (IPv4-mapped unmapped)', async () => {
    const backends = [await echoBackend(), await echoBackend(), await echoBackend()];
    const keys: (string | undefined)[] = [];
    const selector = new Maglev<PoolEndpoint>();
    const pick = selector.pick.bind(selector);
    selector.pick = (context) => {
      keys.push(context?.key);
      return pick(context);
    };
    const pool = new Pool({
      endpoints: backends.map((b) => b.url),
      selector,
      outlierDetection: false,
    });
    onTestFinished(() => pool.close());
    const server = createTcpProxy(pool, { affinity: { by: 'ip' } });
    const port = await listenOn(server as unknown as Server, '::ffff:127.0.0.1');
    onTestFinished(() => server.close({ drainMs: 0 }));
    for (let i = 0; i < 6; i++) expect(await echoOnce(port, `n${i}`)).toBe(`n${i}`);
    expect(keys).toEqual(Array(6).fill('127.0.0.1'));
    expect(backends.map((b) => b.accepted()).sort()).toEqual([0, 0, 6]);
  });
});
