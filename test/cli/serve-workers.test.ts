import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { describe, expect, it, onTestFinished } from 'vitest';
import { main } from '../../src/cli/main.js';
import {
  freePort,
  freePorts,
  get,
  runCli,
  type Served,
  startBackend,
  tempDir,
  writeConfig,
} from './serve-support.js';

// `serve --workers N`: N processes serve the listeners; the primary runs the health checks
// once for the machine, shows the sum of the workers on the dashboard, reloads and stops
// them, and replaces one that dies.

const TOKEN = 'workers-admin-token-0123456789';

/** A backend that answers its name and counts its health checks (`/healthz`). */
async function checkedBackend(): Promise<{ url: string; checks: () => number }> {
  let checks = 0;
  const server = createServer((req, res) => {
    if (req.url === '/healthz') checks++;
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onTestFinished(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, checks: () => checks };
}

function workerPids(served: Served): number[] {
  return served.lines
    .filter((l) => /worker started/.test(l))
    .map((l) => Number(/pid=(\d+)/.exec(l)![1]));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(check: () => boolean | Promise<boolean>, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`not in ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function post(url: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent: false, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function spread(url: string, n: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const { status, body } = await get(url);
    expect(status).toBe(200);
    seen.set(body, (seen.get(body) ?? 0) + 1);
  }
  return seen;
}

describe('switchyard serve --workers', () => {
  it('serves from every worker, checks health once, shows the sum, reloads, replaces and stops', {
    timeout: 90_000,
  }, async () => {
    const a = await startBackend('a');
    const b = await startBackend('b');
    const c = await startBackend('c');
    const [port, dash] = (await freePorts(2)) as [number, number];
    const pool = (urls: string[]) => ({
      endpoints: urls,
      selector: 'round-robin',
      healthCheck: { type: 'http', path: '/healthz', intervalMs: 200, unhealthyThreshold: 1 },
    });
    const config = (urls: string[]) => ({
      pools: { app: pool(urls) },
      listeners: [{ protocol: 'http', listen: `127.0.0.1:${port}`, pool: 'app' }],
      dashboard: { listen: `127.0.0.1:${dash}`, admin: { tokenEnv: 'SY_WORKERS_TOKEN' } },
    });
    const dir = tempDir();
    const file = writeConfig(dir, 'lb.json', config([a.url, b.url]));
    const served = runCli(['serve', '--config', file, '--workers', '2', '--drain-ms', '2000'], {
      SY_WORKERS_TOKEN: TOKEN,
    });
    await served.waitFor(/info {2}started .*workers=2/, 30_000);
    const pids = workerPids(served);
    expect(pids).toHaveLength(2);
    expect(new Set(pids).size).toBe(2);
    expect(pids.every(alive)).toBe(true);
    // Each worker bound the listener itself.
    expect(served.lines.filter((l) => /listening listener=.* worker=\d/.test(l))).toHaveLength(2);

    // Traffic over fresh connections: every request answered; the kernel spreads them.
    const first = await spread(`http://127.0.0.1:${port}/`, 40);
    expect([...first.values()].reduce((x, y) => x + y, 0)).toBe(40);
    expect(first.get('a')! + first.get('b')!).toBe(40);

    // The dashboard and /metrics show the sum of both workers.
    const snapshot = async () =>
      JSON.parse((await get(`http://127.0.0.1:${dash}/api/snapshot`)).body);
    await until(async () => (await snapshot()).pools.app.totals.requests === 40, 10_000, 'sum');
    const metrics = (await get(`http://127.0.0.1:${dash}/metrics`)).body;
    const requests = [...metrics.matchAll(/^switchyard_requests_total\{[^}]*\} (\d+)/gm)];
    expect(requests.reduce((sum, m) => sum + Number(m[1]), 0)).toBe(40);
    const count = [
      ...metrics.matchAll(/^switchyard_request_duration_seconds_count\{[^}]*\} (\d+)/gm),
    ];
    expect(count.reduce((sum, m) => sum + Number(m[1]), 0)).toBe(40);

    // A failing health check takes b out of every worker: the primary decided once.
    b.failHealth = true;
    await served.waitFor(/endpoint state .*to=unhealthy/, 10_000);
    // The primary's own line (no worker field): the check ran there.
    expect(
      served.lines.some((l) => /endpoint state .*to=unhealthy/.test(l) && !/worker=/.test(l)),
    ).toBe(true);
    await until(async () => (await snapshot()).pools.app.totals.healthy === 1, 5_000, 'b out');
    // Give the push a moment to reach both workers, then every request goes to a.
    await new Promise((r) => setTimeout(r, 300));
    expect(await spread(`http://127.0.0.1:${port}/`, 20)).toEqual(new Map([['a', 20]]));
    b.failHealth = false;
    await until(async () => (await snapshot()).pools.app.totals.healthy === 2, 5_000, 'b back');

    // An operator's disable on the dashboard reaches every worker.
    const id = encodeURIComponent(a.url);
    expect(
      await post(`http://127.0.0.1:${dash}/api/pools/app/endpoints/${id}/disable`, TOKEN),
    ).toBe(204);
    await new Promise((r) => setTimeout(r, 300));
    expect(await spread(`http://127.0.0.1:${port}/`, 20)).toEqual(new Map([['b', 20]]));
    expect(await post(`http://127.0.0.1:${dash}/api/pools/app/endpoints/${id}/enable`, TOKEN)).toBe(
      204,
    );

    // SIGHUP to the primary: it checks the file, then every worker reloads it.
    writeConfig(dir, 'lb.json', config([a.url, b.url, c.url]));
    const mark = served.lines.length;
    served.child.kill('SIGHUP');
    await served.waitFor(/reloaded config=\S+$/, 10_000, mark);
    await until(
      () => served.lines.slice(mark).filter((l) => /reloaded .*worker=\d/.test(l)).length === 2,
      10_000,
      'both workers reloaded',
    );
    const after = await spread(`http://127.0.0.1:${port}/`, 30);
    expect(after.get('c')).toBeGreaterThan(0);

    // A worker that dies is replaced; the listener keeps answering.
    process.kill(pids[0]!, 'SIGKILL');
    await served.waitFor(/worker exited; starting another/, 10_000);
    await until(() => workerPids(served).length === 3, 15_000, 'a third worker');
    const replacement = workerPids(served)[2]!;
    expect(alive(replacement)).toBe(true);
    expect((await spread(`http://127.0.0.1:${port}/`, 10)).size).toBeGreaterThan(0);

    // SIGTERM: the workers drain and exit, then the primary, with code 0.
    served.child.kill('SIGTERM');
    expect(await served.exited(20_000)).toBe(0);
    expect([pids[1]!, replacement].some(alive)).toBe(false);
  });

  it('runs the health checks in the primary only', { timeout: 60_000 }, async () => {
    const a = await checkedBackend();
    const port = await freePort();
    const file = writeConfig(tempDir(), 'lb.json', {
      pools: {
        app: {
          endpoints: [a.url],
          healthCheck: { type: 'http', path: '/healthz', intervalMs: 100, jitter: 0 },
        },
      },
      listeners: [{ protocol: 'http', listen: `127.0.0.1:${port}`, pool: 'app' }],
    });
    const served = runCli(['serve', '--config', file, '--workers', '2', '--drain-ms', '0']);
    await served.waitFor(/info {2}started .*workers=2/, 30_000);
    const start = a.checks();
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 2_000));
    const checks = a.checks() - start;
    const periods = (Date.now() - t0) / 100;
    // One process checking: about one per period (a loaded machine checks less, not more);
    // three processes would make it three.
    expect(checks).toBeGreaterThan(0);
    expect(checks).toBeLessThanOrEqual(Math.ceil(periods * 1.5) + 2);
    served.child.kill('SIGTERM');
    expect(await served.exited(20_000)).toBe(0);
  });

  it('fails to start, leaving no worker, when a worker cannot bind', {
    timeout: 60_000,
  }, async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    onTestFinished(() => new Promise<void>((r) => taken.close(() => r())));
    const port = (taken.address() as AddressInfo).port;
    const a = await startBackend('a');
    const file = writeConfig(tempDir(), 'lb.json', {
      pools: { app: { endpoints: [a.url] } },
      listeners: [{ protocol: 'http', listen: `127.0.0.1:${port}`, pool: 'app' }],
    });
    const served = runCli(['serve', '--config', file, '--workers', '2']);
    expect(await served.exited(30_000)).toBe(1);
    const text = served.lines.join('\n');
    expect(text).toMatch(/start failed/);
    expect(text).toContain(`cannot listen on 127.0.0.1:${port}: address already in use`);
    const pids = [...text.matchAll(/starting config=\S+ pid=(\d+) worker=/g)].map((m) =>
      Number(m[1]),
    );
    await until(() => !pids.some(alive), 10_000, 'workers gone');
  });

  it('runs one worker per core when --workers is not given', { timeout: 60_000 }, async () => {
    const a = await startBackend('a');
    const port = await freePort();
    const file = writeConfig(tempDir(), 'lb.json', {
      pools: { app: { endpoints: [a.url] } },
      listeners: [{ protocol: 'http', listen: `127.0.0.1:${port}`, pool: 'app' }],
    });
    const served = runCli(
      ['serve', '--config', file, '--drain-ms', '0'],
      {},
      {
        defaultWorkers: true,
      },
    );
    const cores = availableParallelism();
    // One core means one process (no primary); more means a primary and a worker per core.
    if (cores > 1) {
      const started = await served.waitFor(/info {2}started .*workers=/, 30_000);
      expect(started).toContain(`workers=${cores}`);
      expect(workerPids(served)).toHaveLength(cores);
    } else {
      const started = await served.waitFor(/info {2}started /, 30_000);
      expect(started).not.toMatch(/workers?=/);
    }
    expect((await get(`http://127.0.0.1:${port}/`)).body).toBe('a');
    served.child.kill('SIGTERM');
    expect(await served.exited(20_000)).toBe(0);
    for (const pid of workerPids(served)) expect(alive(pid)).toBe(false);
  });

  it.each([['0'], ['x'], ['1.5'], ['5000']])(
    'refuses --workers %s with the flag and the value',
    async (value) => {
      let err = '';
      const code = await main(['serve', '--config', 'x.json', '--workers', value], {
        stderr: { write: (s: string) => void (err += s) },
        stdout: { write: () => {} },
      });
      expect(code).toBe(2);
      expect(err).toContain(`--workers must be a number from 1 to 1024 or "auto", got "${value}"`);
    },
  );
});
