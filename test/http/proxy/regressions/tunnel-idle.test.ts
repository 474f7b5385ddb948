import net from 'node:net';
import type { Duplex } from 'node:stream';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createProxyHandler } from '../../../../src/http/index.js';
import { eventually, failOnProcessProblems, makePool, startProxy } from '../../proxy-support.js';
import { echoOnce, readText, upgradeBackend, upgradeRequest } from '../upgrade-support.js';

// Resource class: upgrade tunnels never timed out (200 idle WebSockets held 200 leases and
// sockets for good), `close({ force: true })` left them working, any `Upgrade` token
// (`h2c` included) was tunnelled, and a refused upgrade `end()`ed the client socket
// without reading it, so a client that sent bytes after its head kept the socket open.

failOnProcessProblems();

function closed(socket: Duplex): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once('close', () => resolve());
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('upgrade tunnels', () => {
  it('end after timeouts.tunnelIdleMs of silence both ways, releasing the lease', async () => {
    const backend = await upgradeBackend('a');
    const pool = makePool([backend.url]);
    const { url } = await startProxy(pool, { timeouts: { tunnelIdleMs: 300 } });
    const tunnels = await Promise.all([1, 2, 3].map(() => upgradeRequest(url)));
    for (const { res } of tunnels) expect(res.statusCode).toBe(101);
    expect(pool.get(backend.url)?.inflight).toBe(3);
    await Promise.all(tunnels.map(({ socket }) => closed(socket!)));
    await eventually(() => pool.get(backend.url)?.inflight === 0);
  });

  it('stay open while traffic flows either way', async () => {
    const backend = await upgradeBackend('a');
    const pool = makePool([backend.url]);
    const { url } = await startProxy(pool, { timeouts: { tunnelIdleMs: 300 } });
    const { socket } = await upgradeRequest(url);
    for (let i = 0; i < 6; i++) {
      expect(await echoOnce(socket!, `ping${i}`)).toBe(`a:ping${i}`);
      await sleep(100);
    }
    expect(socket!.destroyed).toBe(false);
    await closed(socket!);
    await eventually(() => pool.get(backend.url)?.inflight === 0);
  });

  it('are ended by close({ force: true })', async () => {
    const backend = await upgradeBackend('a');
    const pool = makePool([backend.url]);
    const { url, proxy } = await startProxy(pool);
    const { socket } = await upgradeRequest(url);
    expect(await echoOnce(socket!, 'ping')).toBe('a:ping');
    await proxy.close({ force: true });
    await closed(socket!);
    await eventually(() => pool.get(backend.url)?.inflight === 0);
  });

  it('accept only upgrade.protocols; another is answered as an ordinary request', async () => {
    const backend = await upgradeBackend('a');
    const pool = makePool([backend.url]);
    const { url } = await startProxy(pool);
    const { res, socket } = await upgradeRequest(url, {
      upgrade: 'h2c',
      connection: 'Upgrade, HTTP2-Settings',
      'http2-settings': 'AAMAAABkAAQAAP__',
    });
    expect(socket).toBeUndefined();
    expect(res.statusCode).toBe(200);
    expect(await readText(res)).toBe('plain');
    expect(backend.upgrades).toHaveLength(0);
    await eventually(() => pool.get(backend.url)?.inflight === 0);
    // Listed protocols are tunnelled, in any case.
    const { url: url2 } = await startProxy(pool, {
      upgrade: { protocols: ['WebSocket', 'x-custom'] },
    });
    const ws = await upgradeRequest(url2);
    expect(ws.res.statusCode).toBe(101);
    ws.socket!.destroy();
  });

  it('refused by the endpoint close the socket on the proxy side even when the client sent more bytes', async () => {
    const backend = await upgradeBackend('a', { refuse: 400 });
    const pool = makePool([backend.url]);
    const { port, server } = await startProxy(pool);
    // The proxy's side of each connection, as its upgrade listener receives it.
    const proxySide: Duplex[] = [];
    server.on('upgrade', (_req, socket: Duplex) => proxySide.push(socket));
    for (let i = 0; i < 10; i++) {
      const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
      onTestFinished(() => {
        socket.destroy();
      });
      socket.on('error', () => {});
      socket.write(
        'GET /ws HTTP/1.1\r\nHost: proxy.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
          'Sec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      // Bytes after the head, arriving once the proxy holds the socket.
      setTimeout(() => socket.write('early frame bytes'), 20);
      // Read what comes, but never end our side: the proxy must close on its own.
      socket.resume();
    }
    await eventually(() => pool.get(backend.url)?.inflight === 0);
    expect(pool.get(backend.url)?.inflight).toBe(0);
    await eventually(() => proxySide.length === 10);
    await Promise.all(proxySide.map((socket) => closed(socket)));
  });

  it('rejects bad options, naming them', () => {
    const pool = makePool(['http://127.0.0.1:9']);
    expect(() => createProxyHandler(pool, { timeouts: { tunnelIdleMs: -1 } })).toThrow(
      /^timeouts\.tunnelIdleMs must be a finite number >= 0 and <= 2147483647, got -1$/,
    );
    expect(() =>
      createProxyHandler(pool, { upgrade: { protocols: 'websocket' as never } }),
    ).toThrow(/^upgrade\.protocols must be an array of protocol names, got "websocket"$/);
    expect(() => createProxyHandler(pool, { upgrade: { protocol: [] } as never })).toThrow(
      /upgrade got an unknown option "protocol"/,
    );
  });
});
