import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { failOnProcessProblems } from '../http/proxy-support.js';
import {
  dial,
  echoBackend,
  eventually,
  receive,
  sha256,
  startTcpProxy,
  tcpBackend,
  tcpPool,
} from './support.js';

failOnProcessProblems();

describe('createTcpProxy: bytes, half-close and resets', () => {
  it('round-trips a small payload byte for byte', async () => {
    const backend = await echoBackend();
    const pool = tcpPool([backend.url]);
    const { port } = await startTcpProxy(pool);
    const client = await dial(port);
    const got = receive(client);
    client.end('hello, upstream\n');
    const { data, how } = await got;
    expect(data.toString()).toBe('hello, upstream\n');
    expect(how).toBe('end');
    await eventually(() => pool.snapshot().totals.inflight === 0);
    expect(pool.snapshot().endpoints[0]).toMatchObject({ successes: 1, failures: 0 });
  });

  it('round-trips 24 MiB both ways at once with the same checksum', async () => {
    const backend = await echoBackend();
    const pool = tcpPool([backend.url]);
    const { port } = await startTcpProxy(pool);
    const payload = randomBytes(24 * 1024 * 1024);
    const client = await dial(port);
    const got = receive(client);
    // Written in uneven chunks, so no boundary lines up with anything.
    for (let offset = 0; offset < payload.length; ) {
      const size = 1 + ((offset * 7919) % 200_000);
      client.write(payload.subarray(offset, offset + size));
      offset += size;
    }
    client.end();
    const { data, how } = await got;
    expect(how).toBe('end');
    expect(data.length).toBe(payload.length);
    expect(sha256(data)).toBe(sha256(payload));
  });

  it('carries 32 MiB from the upstream to a client that reads it all', async () => {
    const payload = randomBytes(32 * 1024 * 1024);
    const backend = await tcpBackend((socket) => socket.end(payload));
    const pool = tcpPool([backend.url]);
    const { port } = await startTcpProxy(pool);
    const client = await dial(port);
    const { data, how } = await receive(client);
    expect(how).toBe('end');
    expect(sha256(data)).toBe(sha256(payload));
  });

  it('keeps half-close from the client: the upstream reads the FIN and still answers', async () => {
    let serverSaw = '';
    const backend = await tcpBackend(
      (socket) => {
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (serverSaw += chunk));
        // Only after the client's FIN: the answer travels on the still-open direction.
        socket.on('end', () => {
          socket.write(`got ${serverSaw.length} bytes, `);
          setTimeout(() => socket.end('then FIN'), 20);
        });
      },
      { allowHalfOpen: true },
    );
    const pool = tcpPool([backend.url]);
    const { port } = await startTcpProxy(pool);
    const client = await dial(port, { allowHalfOpen: true });
    const got = receive(client);
    client.end('question');
    const { data, how } = await got;
    expect(serverSaw).toBe('question');
    expect(data.toString()).toBe('got 8 bytes, then FIN');
    expect(how).toBe('end');
  });

  it('keeps half-close from the upstream: the client reads the FIN and still sends', async () => {
    let serverGot: Promise<{ data: string; how: string }> | undefined;
    const backend = await tcpBackend(
      (socket) => {
        serverGot = receive(socket).then((r) => ({ data: r.data.toString(), how: r.how }));
        socket.end('bye from upstream');
      },
      { allowHalfOpen: true },
    );
    const pool = tcpPool([backend.url]);
    const { port } = await startTcpProxy(pool);
    const client = await dial(port, { allowHalfOpen: true });
    const { data, how } = await receive(client);
    expect(data.toString()).toBe('bye from upstream');
    expect(how).toBe('end');
    // The client's side is still open through the proxy.
    await new Promise((r) => setTimeout(r, 30));
    client.end('still here');
    await eventually(() => serverGot !== undefined);
    expect(await serverGot).toEqual({ data: 'still here', how: 'end' });
    await eventually(() => pool.snapshot().totals.inflight === 0);
  });

  it('resets the upstream when the client resets', async () => {
    let serverSide: Promise<string> | undefined;
    const backend = await tcpBackend((socket) => {
      serverSide = receive(socket).then((r) => r.how);
    });
    const pool = tcpPool([backend.url]);
    const { port } = await startTcpProxy(pool);
    const client = await dial(port);
    client.write('x');
    await eventually(() => serverSide !== undefined);
    client.resetAndDestroy();
    expect(await serverSide).toBe('ECONNRESET');
    await eventually(() => pool.snapshot().totals.inflight === 0);
    // Connected, so the endpoint is not blamed for the client's reset.
    expect(pool.snapshot().endpoints[0]).toMatchObject({ successes: 1, failures: 0 });
  });

  it('resets the client when the upstream resets', async () => {
    const backend = await tcpBackend((socket) => {
      socket.once('data', () => socket.resetAndDestroy());
    });
    const pool = tcpPool([backend.url]);
    const { port } = await startTcpProxy(pool);
    const client = await dial(port);
    const got = receive(client);
    client.write('trigger');
    expect((await got).how).toBe('ECONNRESET');
    await eventually(() => pool.snapshot().totals.inflight === 0);
  });

  it('applies backpressure: a stalled upstream stops the client, nothing piles up', async () => {
    let upstream: Socket | undefined;
    let received = 0;
    const backend = await tcpBackend((socket) => {
      upstream = socket;
      socket.pause();
      socket.on('data', (chunk: Buffer) => (received += chunk.length));
    });
    const pool = tcpPool([backend.url]);
    const { port } = await startTcpProxy(pool);
    const client = await dial(port);
    await eventually(() => upstream !== undefined);
    const chunk = Buffer.alloc(256 * 1024, 7);
    const limit = 256 * 1024 * 1024;
    let sent = 0;
    // Write until the client's own buffer is full and stays full: the kernel buffers on the
    // three hops and the proxy's stream buffers are all that can be in flight.
    for (;;) {
      while (sent < limit && client.write(chunk)) sent += chunk.length;
      sent += chunk.length;
      const drained = await Promise.race([
        new Promise<boolean>((resolve) => client.once('drain', () => resolve(true))),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 300)),
      ]);
      if (!drained || sent >= limit) break;
    }
    expect(sent).toBeLessThan(limit);
    const accepted = sent - client.writableLength;
    expect(accepted).toBeLessThan(64 * 1024 * 1024);
    // Let it flow again: every byte arrives.
    upstream!.resume();
    client.end();
    await eventually(() => received === sent, 10_000);
  });
});
