import { Agent, request } from 'node:http';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  type Backend,
  freePort,
  get,
  runCli,
  type Served,
  startBackend,
  tempDir,
  writeConfig,
} from './serve-support.js';

/** Sends SIGHUP and waits for the reload's outcome line. */
async function reload(
  served: Served,
  outcome = /reloaded|reload rejected|reload failed/,
): Promise<string> {
  const mark = served.lines.length;
  served.child.kill('SIGHUP');
  return served.waitFor(outcome, 10_000, mark);
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await wait(10);
  }
}

describe('switchyard serve: SIGHUP', () => {
  it('adds, removes and re-weights endpoints in place while a slow request completes', async () => {
    const [a, b, c] = [await startBackend('a'), await startBackend('b'), await startBackend('c')];
    const port = await freePort();
    const dir = tempDir();
    const pool = (endpoints: unknown[]) => ({
      pools: { app: { endpoints, selector: 'weighted-round-robin' } },
      listeners: [{ protocol: 'http', listen: `127.0.0.1:${port}`, pool: 'app' }],
    });
    const file = writeConfig(dir, 'lb.json', pool([a.url, b.url]));
    const served = runCli(['serve', '--config', file]);
    await served.waitFor(/started/);

    const slow = get(`http://127.0.0.1:${port}/slow?ms=1500`, 10_000);
    await waitUntil(() => a.hits + b.hits === 1, 'the slow request to reach a backend');
    const [busy, other] = a.hits === 1 ? [a, b] : [b, a];
    // The busy endpoint leaves, the other goes to weight 3, c joins.
    writeConfig(dir, 'lb.json', pool([{ url: other.url, weight: 3 }, c.url]));
    expect(await reload(served)).toMatch(/info +reloaded/);
    const updated = served.lines.find((l) => l.includes('pool updated'))!;
    expect(updated).toContain(
      `pool=app changes=["${other.url} weight 1->3","+${c.url}","-${busy.url}"]`,
    );

    const counts = new Map<Backend, number>([
      [busy, 0],
      [other, 0],
      [c, 0],
    ]);
    const before = new Map([...counts.keys()].map((k) => [k, k.hits]));
    for (let i = 0; i < 8; i++) await get(`http://127.0.0.1:${port}/`);
    for (const k of counts.keys()) counts.set(k, k.hits - before.get(k)!);
    // Smooth weighted round robin: every 4 picks, 3 for weight 3 and 1 for weight 1.
    expect([counts.get(busy), counts.get(other), counts.get(c)]).toEqual([0, 6, 2]);
    // The request in flight on the endpoint that left finished normally.
    expect(await slow).toEqual({ status: 200, body: `${busy.name} slow` });
    served.child.kill('SIGTERM');
    expect(await served.exited()).toBe(0);
  });

  it('keeps the running config when the new file is invalid, and reports why', async () => {
    const a = await startBackend('a');
    const port = await freePort();
    const dir = tempDir();
    const file = writeConfig(
      dir,
      'lb.yaml',
      `pools:\n  app: { endpoints: ['${a.url}'] }\nlisteners:\n  - { protocol: http, listen: '127.0.0.1:${port}', pool: app }\n`,
    );
    const served = runCli(['serve', '--config', file]);
    await served.waitFor(/started/);
    writeConfig(
      dir,
      'lb.yaml',
      `pools:\n  app: { endpoints: ['${a.url}'], selector: fastest }\nlisteners: []\n`,
    );
    expect(await reload(served)).toBe(served.lines.find((l) => l.includes('reload rejected')));
    expect(served.lines.at(-1)).toMatch(
      /error reload rejected; the running config stays config=\S+ problems=\["pools\.app\.selector: must be one of .+, got \\"fastest\\""\]$/,
    );
    writeConfig(dir, 'lb.yaml', 'pools: [\n');
    expect(await reload(served)).toMatch(
      /reload rejected; the running config stays .*problem="\S+lb\.yaml:2:1: invalid YAML: /,
    );
    expect(await get(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: 'a' });
    // A valid file whose listener cannot bind is undone as a whole: the pool is not replaced.
    const taken = await freePort();
    const blocker = (await import('node:net')).createServer();
    await new Promise<void>((r) => blocker.listen(taken, '127.0.0.1', r));
    onTestFinished(() => void blocker.close());
    const b = await startBackend('b');
    writeConfig(
      dir,
      'lb.yaml',
      `pools:\n  app: { endpoints: ['${b.url}'] }\nlisteners:\n  - { protocol: http, listen: '127.0.0.1:${port}', pool: app }\n  - { protocol: http, listen: '127.0.0.1:${taken}', pool: app }\n`,
    );
    expect(await reload(served)).toMatch(
      `error reload failed; the running config stays error="cannot listen on 127.0.0.1:${taken}: address already in use"`,
    );
    expect(await get(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: 'a' });
    served.child.kill('SIGTERM');
    expect(await served.exited()).toBe(0);
  });

  it('opens an added listener and drains a removed one', async () => {
    const a = await startBackend('a');
    const [p1, p2] = [await freePort(), await freePort()];
    const dir = tempDir();
    const listener = (port: number) => ({
      protocol: 'http',
      listen: `127.0.0.1:${port}`,
      pool: 'app',
    });
    const cfg = (...ports: number[]) => ({
      pools: { app: { endpoints: [a.url] } },
      listeners: ports.map(listener),
    });
    const file = writeConfig(dir, 'lb.json', cfg(p1));
    const served = runCli(['serve', '--config', file]);
    await served.waitFor(/started/);

    writeConfig(dir, 'lb.json', cfg(p1, p2));
    await reload(served);
    expect(served.lines.some((l) => l.includes(`listening listener="http 127.0.0.1:${p2}"`))).toBe(
      true,
    );
    expect((await get(`http://127.0.0.1:${p2}/`)).body).toBe('a');

    // A slow request on the listener about to go finishes; new connections are refused.
    const slow = get(`http://127.0.0.1:${p1}/slow?ms=1000`);
    await waitUntil(() => a.hits === 2, 'the slow request');
    writeConfig(dir, 'lb.json', cfg(p2));
    await reload(served);
    await expect(get(`http://127.0.0.1:${p1}/`, 1_000)).rejects.toThrow(/ECONNREFUSED/);
    expect(await slow).toEqual({ status: 200, body: 'a slow' });
    await served.waitFor(
      new RegExp(`listener closed listener="http 127\\.0\\.0\\.1:${p1}" drained=true`),
    );
    expect((await get(`http://127.0.0.1:${p2}/`)).body).toBe('a');
    served.child.kill('SIGTERM');
    expect(await served.exited()).toBe(0);
  });

  it('points a listener at another pool and keeps its open connections', async () => {
    const [a, b] = [await startBackend('a'), await startBackend('b')];
    const port = await freePort();
    const dir = tempDir();
    const cfg = (pool: string) => ({
      pools: { one: { endpoints: [a.url] }, two: { endpoints: [b.url] } },
      listeners: [{ protocol: 'http', listen: `127.0.0.1:${port}`, pool }],
    });
    const file = writeConfig(dir, 'lb.json', cfg('one'));
    const served = runCli(['serve', '--config', file]);
    await served.waitFor(/started/);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    onTestFinished(() => agent.destroy());
    const call = () =>
      new Promise<{ body: string; localPort: number }>((resolve, reject) => {
        const req = request(`http://127.0.0.1:${port}/`, { agent }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ body, localPort: req.socket!.localPort! }));
        });
        req.on('error', reject).end();
      });
    const first = await call();
    expect(first.body).toBe('a');
    writeConfig(dir, 'lb.json', cfg('two'));
    await reload(served);
    expect(served.lines.some((l) => /listener updated listener="http \S+" pool=two/.test(l))).toBe(
      true,
    );
    const second = await call();
    expect(second).toEqual({ body: 'b', localPort: first.localPort });
    served.child.kill('SIGTERM');
    agent.destroy();
    expect(await served.exited()).toBe(0);
  });

  it('replaces the selector in place: endpoints keep their state', async () => {
    const [a, b] = [await startBackend('a'), await startBackend('b')];
    const port = await freePort();
    const dir = tempDir();
    const cfg = (selector: unknown) => ({
      pools: { app: { endpoints: [a.url, b.url], selector } },
      listeners: [{ protocol: 'http', listen: `127.0.0.1:${port}`, pool: 'app' }],
    });
    const file = writeConfig(dir, 'lb.json', cfg('round-robin'));
    const served = runCli(['serve', '--config', file]);
    await served.waitFor(/started/);
    writeConfig(dir, 'lb.json', cfg({ type: 'ring-hash', vnodes: 40 }));
    await reload(served);
    expect(served.lines.join('\n')).toMatch(
      /pool updated pool=app changes=\["selector \{\\"type\\":\\"ring-hash\\",\\"vnodes\\":40\}"\]/,
    );
    expect(served.lines.join('\n')).not.toMatch(/pool replaced/);
    const bodies = new Set<string>();
    for (let i = 0; i < 6; i++) bodies.add((await get(`http://127.0.0.1:${port}/`)).body);
    expect(bodies.size).toBeGreaterThan(0);
    // A setting only a new Pool takes replaces the pool; a request in flight on the old one
    // finishes there.
    const hits = a.hits + b.hits;
    const slow = get(`http://127.0.0.1:${port}/slow?ms=800`);
    await waitUntil(() => a.hits + b.hits === hits + 1, 'the slow request');
    writeConfig(dir, 'lb.json', {
      ...cfg('round-robin'),
      pools: { app: { endpoints: [a.url, b.url], slowStartMs: 1000 } },
    });
    await reload(served);
    expect(served.lines.join('\n')).toMatch(/info +pool replaced pool=app/);
    expect((await slow).status).toBe(200);
    expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200);
    served.child.kill('SIGTERM');
    expect(await served.exited()).toBe(0);
  });

  it('replaces the health check: added, it takes a failing endpoint out; removed, it lets it back', async () => {
    const [a, b] = [await startBackend('a'), await startBackend('b')];
    b.failHealth = true;
    const port = await freePort();
    const dir = tempDir();
    const cfg = (healthCheck?: unknown) => ({
      pools: { app: { endpoints: [a.url, b.url], ...(healthCheck ? { healthCheck } : {}) } },
      listeners: [{ protocol: 'http', listen: `127.0.0.1:${port}`, pool: 'app' }],
    });
    const file = writeConfig(dir, 'lb.json', cfg());
    const served = runCli(['serve', '--config', file]);
    await served.waitFor(/started/);
    writeConfig(
      dir,
      'lb.json',
      cfg({ type: 'http', path: '/healthz', intervalMs: 100, unhealthyThreshold: 1 }),
    );
    await reload(served);
    expect(served.lines.join('\n')).toMatch(
      /pool updated pool=app changes=\["health check replaced"\]/,
    );
    await served.waitFor(
      new RegExp(`endpoint=${b.url} from=healthy to=unhealthy reason=health-check`),
    );
    for (let i = 0; i < 4; i++) expect((await get(`http://127.0.0.1:${port}/`)).body).toBe('a');
    const mark = served.lines.length;
    writeConfig(dir, 'lb.json', cfg());
    await reload(served);
    await served.waitFor(
      new RegExp(`endpoint=${b.url} from=unhealthy to=healthy reason=health-check-removed`),
      5_000,
      mark,
    );
    served.child.kill('SIGTERM');
    expect(await served.exited()).toBe(0);
  });
});
