import http, { type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { endpointToken } from '../../src/http/affinity.js';
import {
  closeServer,
  eventually,
  listen,
  makePool,
  refusedUrl,
  startProxy,
  watchProcess,
} from './proxy-support.js';

const watch = watchProcess();
afterAll(() => {
  watch.stop();
  expect(watch.problems).toEqual([]);
});

interface UpgradeBackend {
  url: string;
  upgrades: IncomingMessage[];
}

/** A backend that accepts upgrades and echoes what it receives, prefixed with its name. */
async function echoUpgradeBackend(name: string, refuse?: number): Promise<UpgradeBackend> {
  const upgrades: IncomingMessage[] = [];
  const server = http.createServer((_req, res) => res.end('plain'));
  const sockets = new Set<Duplex>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrades.push(req);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('end', () => socket.end());
    if (refuse !== undefined) {
      socket.end(`HTTP/1.1 ${refuse} Nope\r\ncontent-length: 7\r\nx-why: ${name}\r\n\r\nrefused`);
      return;
    }
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        `Sec-WebSocket-Accept: accept-${req.headers['sec-websocket-key']}\r\nX-Backend: ${name}\r\n\r\n`,
    );
    if (head.length > 0) socket.write(Buffer.concat([Buffer.from(`${name}:`), head]));
    socket.on('data', (chunk: Buffer) =>
      socket.write(Buffer.concat([Buffer.from(`${name}:`), chunk])),
    );
    socket.on('error', () => {});
  });
  const port = await listen(server);
  onTestFinished(() => {
    for (const socket of sockets) socket.destroy();
    return closeServer(server);
  });
  return { url: `http://127.0.0.1:${port}`, upgrades };
}

interface Upgraded {
  res: IncomingMessage;
  socket: Duplex;
}

function upgrade(
  url: string,
  headers: http.OutgoingHttpHeaders = {},
): Promise<Upgraded | IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      agent: false,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': 'k123',
        'sec-websocket-version': '13',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => resolve({ res, socket }));
    req.on('response', (res) => resolve(res));
    req.on('error', reject);
    req.end();
  });
}

function roundTrip(socket: Duplex, text: string): Promise<string> {
  return new Promise((resolve) => {
    socket.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    socket.write(text);
  });
}

describe('proxy.upgrade', () => {
  it('forwards a WebSocket upgrade and pipes both ways, holding the lease while open', async () => {
    const backend = await echoUpgradeBackend('a');
    const pool = makePool([backend.url]);
    const { url } = await startProxy(pool);
    const result = (await upgrade(url)) as Upgraded;
    expect(result.res.statusCode).toBe(101);
    expect(result.res.headers['sec-websocket-accept']).toBe('accept-k123');
    expect(result.res.headers['x-backend']).toBe('a');
    expect(result.res.headers.upgrade).toBe('websocket');
    expect(await roundTrip(result.socket, 'ping')).toBe('a:ping');
    const seen = backend.upgrades[0]!.headers;
    expect(seen.upgrade).toBe('websocket');
    expect(seen['sec-websocket-key']).toBe('k123');
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(pool.get(backend.url)?.inflight).toBe(1);
    result.socket.destroy();
    await eventually(() => pool.get(backend.url)?.inflight === 0);
  });

  it('fails over when an endpoint refuses the connection', async () => {
    const dead = await refusedUrl();
    const backend = await echoUpgradeBackend('b');
    const { url } = await startProxy(makePool([dead, backend.url]));
    const result = (await upgrade(url)) as Upgraded;
    expect(result.res.statusCode).toBe(101);
    expect(await roundTrip(result.socket, 'x')).toBe('b:x');
    result.socket.destroy();
  });

  it('relays an endpoint refusing the upgrade', async () => {
    const backend = await echoUpgradeBackend('a', 403);
    const pool = makePool([backend.url]);
    const { url } = await startProxy(pool);
    const res = (await upgrade(url)) as IncomingMessage;
    expect(res.statusCode).toBe(403);
    expect(res.headers['x-why']).toBe('a');
    const body = await new Promise<string>((resolve) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c;
      });
      res.on('end', () => resolve(text));
    });
    expect(body).toBe('refused');
    await eventually(() => pool.get(backend.url)?.inflight === 0);
  });

  it('answers 503 when no endpoint is eligible and 502 when every one refuses', async () => {
    const empty = await startProxy(makePool([]));
    expect(((await upgrade(empty.url)) as IncomingMessage).statusCode).toBe(503);
    const dead = await startProxy(makePool([await refusedUrl()]));
    expect(((await upgrade(dead.url)) as IncomingMessage).statusCode).toBe(502);
  });

  it('keeps cookie affinity', async () => {
    const a = await echoUpgradeBackend('a');
    const b = await echoUpgradeBackend('b');
    const { url } = await startProxy(makePool([a.url, b.url]), { affinity: { cookie: 'sy' } });
    const first = (await upgrade(url)) as Upgraded;
    expect(first.res.headers['set-cookie']?.[0]).toMatch(
      new RegExp(`^sy=${endpointToken(a.url)};`),
    );
    first.socket.destroy();
    const sticky = (await upgrade(url, { cookie: `sy=${endpointToken(b.url)}` })) as Upgraded;
    expect(sticky.res.headers['x-backend']).toBe('b');
    expect(sticky.res.headers['set-cookie']).toBeUndefined();
    sticky.socket.destroy();
  });
});
