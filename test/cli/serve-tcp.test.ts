import { connect, createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freePort, freePorts, runCli, tempDir, writeConfig } from './serve-support.js';

/** A TCP echo backend that prefixes its name. */
async function echo(name: string): Promise<{ url: string; server: Server }> {
  const server = createServer((socket) => {
    socket.on('error', () => {}); // reset when the proxy cuts a connection at its drain limit
    socket.on('data', (d) => socket.write(`${name}:${d}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(() => void server.close());
  return { url: `tcp://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1', () => socket.write(text));
    socket.setTimeout(5_000, () => socket.destroy(new Error('timeout')));
    socket.once('data', (d) => {
      socket.end();
      resolve(String(d));
    });
    socket.on('error', reject);
  });
}

describe('switchyard serve: TCP listeners', () => {
  it('balances TCP connections over the pool', async () => {
    const [a, b] = [await echo('a'), await echo('b')];
    const port = await freePort();
    const file = writeConfig(tempDir(), 'lb.json', {
      pools: { db: { endpoints: [a.url, b.url], selector: 'round-robin' } },
      listeners: [
        { protocol: 'tcp', listen: `127.0.0.1:${port}`, pool: 'db', connectTimeoutMs: 1000 },
      ],
    });
    const served = runCli(['serve', '--config', file]);
    await served.waitFor(/started/);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await roundTrip(port, 'ping'));
    expect(answers.sort()).toEqual(['a:ping', 'a:ping', 'b:ping', 'b:ping']);
    served.child.kill('SIGTERM');
    expect(await served.exited()).toBe(0);
  });

  it('SIGTERM drains an open connection up to --drain-ms', async () => {
    const a = await echo('a');
    const port = await freePort();
    const file = writeConfig(tempDir(), 'lb.json', {
      pools: { db: { endpoints: [a.url] } },
      listeners: [{ protocol: 'tcp', listen: `127.0.0.1:${port}`, pool: 'db' }],
    });
    const served = runCli(['serve', '--config', file, '--drain-ms', '300']);
    await served.waitFor(/started/);
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((r) => socket.once('connect', r));
    served.child.kill('SIGTERM');
    // The open connection is cut at the drain limit: exit 1.
    expect(await served.exited()).toBe(1);
    socket.destroy();
  });

  it('adds a TCP listener on SIGHUP', async () => {
    const a = await echo('a');
    const [p1, p2] = (await freePorts(2)) as [number, number];
    const dir = tempDir();
    const cfg = (...ports: number[]) => ({
      pools: { db: { endpoints: [a.url] } },
      listeners: ports.map((p) => ({ protocol: 'tcp', listen: `127.0.0.1:${p}`, pool: 'db' })),
    });
    const file = writeConfig(dir, 'lb.json', cfg(p1));
    const served = runCli(['serve', '--config', file]);
    await served.waitFor(/started/);
    writeConfig(dir, 'lb.json', cfg(p1, p2));
    served.child.kill('SIGHUP');
    await served.waitFor(/reloaded/);
    expect(await roundTrip(p2, 'x')).toBe('a:x');
    served.child.kill('SIGTERM');
    expect(await served.exited()).toBe(0);
  });

  it('points a TCP listener at another pool: new connections go there, open ones stay', async () => {
    const [a, b] = [await echo('a'), await echo('b')];
    const port = await freePort();
    const dir = tempDir();
    const cfg = (pool: string) => ({
      pools: { one: { endpoints: [a.url] }, two: { endpoints: [b.url] } },
      listeners: [{ protocol: 'tcp', listen: `127.0.0.1:${port}`, pool }],
    });
    const file = writeConfig(dir, 'lb.json', cfg('one'));
    const served = runCli(['serve', '--config', file, '--drain-ms', '5000']);
    await served.waitFor(/started/);
    const open = connect(port, '127.0.0.1');
    open.on('error', () => {});
    onTestFinished(() => void open.destroy());
    const ask = (text: string) =>
      new Promise<string>((resolve) => {
        open.once('data', (d) => resolve(String(d)));
        open.write(text);
      });
    expect(await ask('1')).toBe('a:1');
    writeConfig(dir, 'lb.json', cfg('two'));
    served.child.kill('SIGHUP');
    await served.waitFor(/reloaded/);
    expect(await roundTrip(port, 'x')).toBe('b:x');
    expect(await ask('2')).toBe('a:2');
    open.end();
    served.child.kill('SIGTERM');
    expect(await served.exited()).toBe(0);
  });
});
