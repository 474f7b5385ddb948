import { createServer as createHttpServer, request } from 'node:http';
import { createServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freePort, get, runCli, startBackend, tempDir, writeConfig } from './serve-support.js';

/** A config of one HTTP listener in front of `endpoints`. */
function config(port: number, endpoints: string[], extra: Record<string, unknown> = {}) {
  return {
    pools: { app: { endpoints, selector: 'round-robin', ...extra } },
    listeners: [{ protocol: 'http', listen: `127.0.0.1:${port}`, pool: 'app' }],
  };
}

describe('switchyard serve (the built binary)', () => {
  it('balances HTTP requests over the pool, logging start and listen', async () => {
    const [a, b] = [await startBackend('a'), await startBackend('b')];
    const port = await freePort();
    const file = writeConfig(tempDir(), 'lb.json', config(port, [a.url, b.url]));
    const served = runCli(['serve', '--config', file]);
    await served.waitFor(/ info +started pools=1 listeners=1$/);
    expect(served.lines.join('\n')).toMatch(
      new RegExp(
        `info +listening listener="http 127\\.0\\.0\\.1:${port}" address=127\\.0\\.0\\.1:${port} pool=app`,
      ),
    );
    const bodies: string[] = [];
    for (let i = 0; i < 10; i++) bodies.push((await get(`http://127.0.0.1:${port}/`)).body);
    expect(bodies.filter((x) => x === 'a')).toHaveLength(5);
    expect(bodies.filter((x) => x === 'b')).toHaveLength(5);
    served.child.kill('SIGTERM');
    expect(await served.exited()).toBe(0);
    expect(served.lines.at(-1)).toMatch(/ info +stopped$/);
  });

  it('forwards WebSocket upgrades through the listener', async () => {
    const backend = createHttpServer();
    backend.on('upgrade', (req, socket) => {
      socket.on('error', () => {});
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
          `Sec-WebSocket-Accept: accept-${req.headers['sec-websocket-key']}\r\n\r\n`,
      );
      socket.on('data', (chunk: Buffer) => socket.write(`echo:${chunk}`));
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    onTestFinished(() => {
      backend.closeAllConnections();
      backend.close();
    });
    const port = await freePort();
    const url = `http://127.0.0.1:${(backend.address() as { port: number }).port}`;
    const file = writeConfig(tempDir(), 'lb.json', config(port, [url]));
    const served = runCli(['serve', '--config', file]);
    await served.waitFor(/started/);
    const socket = await new Promise<Duplex>((resolve, reject) => {
      const req = request(`http://127.0.0.1:${port}/ws`, {
        agent: false,
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-key': 'k1',
          'sec-websocket-version': '13',
        },
      });
      req.on('upgrade', (res, socket) => {
        expect(res.headers['sec-websocket-accept']).toBe('accept-k1');
        resolve(socket);
      });
      req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
      req.on('error', reject).end();
    });
    const echoed = await new Promise<string>((resolve) => {
      socket.once('data', (chunk: Buffer) => resolve(String(chunk)));
      socket.write('hello');
    });
    expect(echoed).toBe('echo:hello');
    socket.destroy();
    served.child.kill('SIGTERM');
    expect(await served.exited()).toBe(0);
  });

  it('takes a dead backend out by its health check and brings it back', async () => {
    const a = await startBackend('a');
    let b = await startBackend('b');
    const port = await freePort();
    const file = writeConfig(
      tempDir(),
      'lb.yaml',
      config(port, [a.url, b.url], {
        healthCheck: {
          type: 'http',
          path: '/healthz',
          intervalMs: 100,
          unhealthyIntervalMs: 100,
          timeoutMs: 500,
          unhealthyThreshold: 1,
          healthyThreshold: 1,
        },
        outlierDetection: false,
      }),
    );
    const served = runCli(['serve', '--config', file]);
    await served.waitFor(/started/);
    await b.close();
    const down = await served.waitFor(/endpoint state/);
    expect(down).toMatch(
      new RegExp(
        `warn +endpoint state pool=app endpoint=${b.url} from=healthy to=unhealthy reason=health-check`,
      ),
    );
    for (let i = 0; i < 6; i++) expect((await get(`http://127.0.0.1:${port}/`)).body).toBe('a');
    const mark = served.lines.length;
    b = await startBackend('b', b.port);
    await served.waitFor(/to=healthy/, 10_000, mark);
    const bodies = new Set<string>();
    for (let i = 0; i < 6; i++) bodies.add((await get(`http://127.0.0.1:${port}/`)).body);
    expect([...bodies].sort()).toEqual(['a', 'b']);
    served.child.kill('SIGINT');
    expect(await served.exited()).toBe(0);
  });

  it('SIGTERM stops accepting, lets a slow request finish, then exits 0', async () => {
    const a = await startBackend('a');
    const port = await freePort();
    const file = writeConfig(tempDir(), 'lb.json', config(port, [a.url]));
    const served = runCli(['serve', '--config', file, '--drain-ms', '10000']);
    await served.waitFor(/started/);
    const slow = get(`http://127.0.0.1:${port}/slow?ms=1000`);
    while (a.hits === 0) await new Promise((r) => setTimeout(r, 10));
    served.child.kill('SIGTERM');
    await served.waitFor(/stopping drainMs=10000/);
    await expect(get(`http://127.0.0.1:${port}/`, 1_000)).rejects.toThrow(/ECONNREFUSED/);
    expect(await slow).toEqual({ status: 200, body: 'a slow' });
    expect(await served.exited()).toBe(0);
  });

  it('exits 1 when --drain-ms cuts a request short', async () => {
    const a = await startBackend('a');
    const port = await freePort();
    const file = writeConfig(tempDir(), 'lb.json', config(port, [a.url]));
    const served = runCli(['serve', '--config', file, '--drain-ms', '200']);
    await served.waitFor(/started/);
    const slow = get(`http://127.0.0.1:${port}/slow?ms=5000`).catch((error: Error) => error);
    while (a.hits === 0) await new Promise((r) => setTimeout(r, 10));
    served.child.kill('SIGTERM');
    expect(await served.exited()).toBe(1);
    expect(await slow).toBeInstanceOf(Error);
    expect(served.lines.at(-1)).toMatch(
      /warn +stopped; the drain time cut work in flight short drainMs=200/,
    );
  });

  it('a second signal exits at once', async () => {
    const a = await startBackend('a');
    const port = await freePort();
    const file = writeConfig(tempDir(), 'lb.json', config(port, [a.url]));
    const served = runCli(['serve', '--config', file, '--drain-ms', '60000']);
    await served.waitFor(/started/);
    const slow = get(`http://127.0.0.1:${port}/slow?ms=20000`).catch((error: Error) => error);
    while (a.hits === 0) await new Promise((r) => setTimeout(r, 10));
    served.child.kill('SIGTERM');
    await served.waitFor(/stopping/);
    served.child.kill('SIGINT');
    expect(await served.exited(5_000)).toBe(130);
    expect(await slow).toBeInstanceOf(Error);
  });

  it('never logs the credentials of an endpoint URL', async () => {
    const a = await startBackend('a');
    const port = await freePort();
    const secret = a.url.replace('http://', 'http://user:hunter2@');
    const file = writeConfig(tempDir(), 'lb.json', config(port, [secret]));
    const served = runCli(['serve', '--config', file]);
    await served.waitFor(/started/);
    expect((await get(`http://127.0.0.1:${port}/`)).body).toBe('a');
    served.child.kill('SIGTERM');
    expect(await served.exited()).toBe(0);
    expect(served.lines.join('\n')).toContain(`endpoints=["http://***@127.0.0.1:${a.port}"]`);
    expect(served.lines.join('\n')).not.toContain('hunter2');
  });

  it('--log-format json: one JSON object per line with time, level and msg', async () => {
    const a = await startBackend('a');
    const port = await freePort();
    const file = writeConfig(tempDir(), 'lb.json', config(port, [a.url]));
    const served = runCli(['serve', '--config', file, '--log-format', 'json']);
    await served.waitFor(/"msg":"started"/);
    served.child.kill('SIGTERM');
    expect(await served.exited()).toBe(0);
    const events = served.lines.map((line) => JSON.parse(line));
    expect(events.map((e) => e.msg)).toEqual([
      'starting',
      'listening',
      'pool added',
      'started',
      'stopping',
      'stopped',
    ]);
    for (const e of events) {
      expect(new Date(e.time).toISOString()).toBe(e.time);
      expect(e.level).toBe('info');
    }
    expect(events[1]).toMatchObject({
      listener: `http 127.0.0.1:${port}`,
      address: `127.0.0.1:${port}`,
      pool: 'app',
    });
  });

  it('does not start on an invalid config: the problems, exit 1', async () => {
    const file = writeConfig(tempDir(), 'lb.json', {
      pools: { app: { endpoints: [{ url: 'http://127.0.0.1:1', weight: 0 }] } },
      listeners: [{ protocol: 'http', listen: '127.0.0.1:1', pool: 'ap' }],
    });
    const served = runCli(['serve', '--config', file, '--log-format', 'json']);
    expect(await served.exited()).toBe(1);
    expect(served.lines).toHaveLength(1);
    expect(JSON.parse(served.lines[0]!)).toMatchObject({
      level: 'error',
      msg: 'config invalid; not starting',
      problems: [
        'pools.app.endpoints[0].weight: must be a number > 0, got 0',
        'listeners[0].pool: no pool of that name (did you mean "app"?), got "ap"',
      ],
    });
  });

  it('does not start when a listener cannot bind: one line, exit 1', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    onTestFinished(() => void taken.close());
    const port = (taken.address() as { port: number }).port;
    const a = await startBackend('a');
    const file = writeConfig(tempDir(), 'lb.json', config(port, [a.url]));
    const served = runCli(['serve', '--config', file]);
    expect(await served.exited()).toBe(1);
    expect(served.lines.join('\n')).toMatch(
      new RegExp(
        `error start failed error="cannot listen on 127\\.0\\.0\\.1:${port}: address already in use"`,
      ),
    );
    expect(served.lines.join('\n')).not.toMatch(/\n\s+at /);
  });

  it('refuses to start when the admin token variable is not set', async () => {
    const a = await startBackend('a');
    const dash = await freePort();
    const file = writeConfig(tempDir(), 'lb.json', {
      pools: { app: { endpoints: [a.url] } },
      dashboard: { listen: `127.0.0.1:${dash}`, admin: { tokenEnv: 'SY_TEST_UNSET_TOKEN' } },
    });
    const served = runCli(['serve', '--config', file]);
    expect(await served.exited()).toBe(1);
    expect(served.lines.join('\n')).toMatch(
      /the environment variable SY_TEST_UNSET_TOKEN is not set/,
    );
  });

  it('refuses to start when the affinity secret variable is not set', async () => {
    const a = await startBackend('a');
    const port = await freePort();
    const file = writeConfig(tempDir(), 'lb.json', {
      pools: { app: { endpoints: [a.url] } },
      listeners: [
        {
          protocol: 'http',
          listen: `127.0.0.1:${port}`,
          pool: 'app',
          affinity: { cookie: 'sy', secretEnv: 'SY_TEST_UNSET_SECRET' },
        },
      ],
    });
    const served = runCli(['serve', '--config', file]);
    expect(await served.exited()).toBe(1);
    expect(served.lines.join('\n')).toMatch(
      /error start failed error="affinity\.secretEnv: the environment variable SY_TEST_UNSET_SECRET is not set"/,
    );
  });
});
