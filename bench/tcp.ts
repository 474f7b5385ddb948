/**
 * TCP proxy throughput: switchyard's `createTcpProxy` against a bare Node `net` pipe
 * (`socket.pipe(upstream)` both ways, the floor any Node TCP proxy stands on) and HAProxy
 * `mode tcp` with `nbthread 1` when /usr/sbin/haproxy exists, in one run on 127.0.0.1.
 *
 * - backend: one Node process with two ports — `bulk` writes 1 MiB chunks to each client as
 *   fast as it reads them; `short` answers a 100-byte request with 100 bytes and a FIN;
 * - each contender in its own process, forwarding both ports, default settings (switchyard:
 *   a `Pool` of one endpoint, default options);
 * - bulk: one connection downloads for DURATION seconds after WARMUP; GiB/s at the client;
 * - short connections: CONCURRENCY loops of connect, 100-byte request, 100-byte reply,
 *   close, for DURATION seconds after WARMUP; connections per second;
 * - contenders interleaved (A B C, A B C, …) for ROUNDS rounds; medians, and switchyard's
 *   ratio to each (targets: bulk >= 0.95x and conn/s >= 0.9x the bare pipe);
 * - also the CPU time each proxy process used (from /proc/PID/stat) per GiB and per
 *   connection: with the load generator sharing the machine, work per CPU second is a
 *   steadier comparison than the rates.
 *
 * The load generator runs in this process. On a shared machine the absolute figures swing;
 * compare only the ratios inside one run.
 *
 * Run: npm run build && npm run bench:tcp            (ROUNDS 3, DURATION 5 s, WARMUP 1 s)
 *      npm run bench:tcp -- --short                   (1 round of 1 s: to see that it works)
 * Environment: ROUNDS, DURATION (s), WARMUP (s), CONCURRENCY (32), CONTENDERS
 * (comma list of switchyard,bare,haproxy), HAPROXY (path, default /usr/sbin/haproxy).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const env = process.env;
const SHORT = process.argv.includes('--short');
const ROUNDS = Number(env.ROUNDS ?? (SHORT ? 1 : 3));
const DURATION = Number(env.DURATION ?? (SHORT ? 1 : 5)) * 1_000;
const WARMUP = Number(env.WARMUP ?? (SHORT ? 0.3 : 1)) * 1_000;
const CONCURRENCY = Number(env.CONCURRENCY ?? 32);
const HAPROXY = env.HAPROXY ?? '/usr/sbin/haproxy';
const CHUNK = Buffer.alloc(1024 * 1024, 0x61);
const REQUEST = Buffer.alloc(100, 0x71);
const REPLY = Buffer.alloc(100, 0x72);

interface Ports {
  readonly bulk: number;
  readonly short: number;
}

// ---- child roles: `node bench/tcp.ts --role backend|switchyard|bare PORTS_JSON` ----------

function ready(ports: Ports): void {
  process.send?.({ type: 'ready', ports });
}

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () =>
      resolve((server.address() as net.AddressInfo).port),
    );
  });
}

async function backend(): Promise<void> {
  const bulk = net.createServer((socket) => {
    socket.on('error', () => {});
    const pump = (): void => {
      while (!socket.destroyed && socket.write(CHUNK));
    };
    socket.on('drain', pump);
    pump();
  });
  const short = net.createServer((socket) => {
    socket.on('error', () => {});
    let got = 0;
    socket.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (got >= REQUEST.length) socket.end(REPLY);
    });
  });
  ready({ bulk: await listen(bulk), short: await listen(short) });
}

async function bare(upstream: Ports): Promise<void> {
  const forward = (port: number) =>
    net.createServer((client) => {
      const socket = net.connect(port, '127.0.0.1');
      client.pipe(socket);
      socket.pipe(client);
      client.on('error', () => socket.destroy());
      socket.on('error', () => client.destroy());
    });
  ready({
    bulk: await listen(forward(upstream.bulk)),
    short: await listen(forward(upstream.short)),
  });
}

async function switchyard(upstream: Ports): Promise<void> {
  const { Pool } = await import(new URL('../dist/index.js', import.meta.url).href);
  const { createTcpProxy } = await import(new URL('../dist/tcp.js', import.meta.url).href);
  const proxy = (port: number) =>
    createTcpProxy(new Pool({ endpoints: [`tcp://127.0.0.1:${port}`] })) as net.Server;
  ready({ bulk: await listen(proxy(upstream.bulk)), short: await listen(proxy(upstream.short)) });
}

// ---- the orchestrator ----------------------------------------------------------------

const children = new Set<ChildProcess>();
const tempDirs: string[] = [];
function cleanup(): void {
  for (const child of children) child.kill('SIGTERM');
  children.clear();
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

interface Started {
  readonly ports: Ports;
  readonly pid: number;
}

async function startNode(role: string, upstream?: Ports): Promise<Started> {
  const child = spawn(process.execPath, [self, '--role', role, JSON.stringify(upstream ?? {})], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const [message] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(() => {
      throw new Error(`${role} exited before listening`);
    }),
  ])) as [{ ports: Ports }];
  return { ports: message.ports, pid: child.pid! };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, in clock ticks (USER_HZ, 100).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} not open after 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startHaproxy(upstream: Ports): Promise<Started> {
  const dir = mkdtempSync(join(os.tmpdir(), 'switchyard-bench-tcp-'));
  tempDirs.push(dir);
  const ports = { bulk: await freePort(), short: await freePort() };
  const config = `global
  nbthread 1
  maxconn 8000
defaults
  mode tcp
  timeout connect 2s
  timeout client 300s
  timeout server 300s
frontend bulk
  bind 127.0.0.1:${ports.bulk}
  default_backend bulk
backend bulk
  server s 127.0.0.1:${upstream.bulk}
frontend short
  bind 127.0.0.1:${ports.short}
  default_backend short
backend short
  server s 127.0.0.1:${upstream.short}
`;
  writeFileSync(join(dir, 'haproxy.cfg'), config);
  const child = spawn(HAPROXY, ['-db', '-f', join(dir, 'haproxy.cfg')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  await waitForPort(ports.bulk);
  await waitForPort(ports.short);
  return { ports, pid: child.pid! };
}

/** What one measurement gives: the rate, and the proxy's CPU seconds per unit of it. */
interface Measured {
  readonly rate: number;
  /** CPU seconds the proxy process used per GiB (bulk) or per connection (short). */
  readonly cpuPerUnit: number;
}

/** One connection downloading for `ms` after `warmupMs`: GiB/s. */
function bulk(port: number, pid: number, warmupMs: number, ms: number): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let bytes = 0;
    let counting = false;
    socket.on('data', (chunk: Buffer) => {
      if (counting) bytes += chunk.length;
    });
    socket.once('error', reject);
    socket.once('connect', () => {
      setTimeout(() => {
        counting = true;
        const started = performance.now();
        const cpu = cpuSeconds(pid);
        setTimeout(() => {
          const seconds = (performance.now() - started) / 1_000;
          const used = cpuSeconds(pid) - cpu;
          socket.destroy();
          const gib = bytes / 2 ** 30;
          resolve({ rate: gib / seconds, cpuPerUnit: used / gib });
        }, ms);
      }, warmupMs);
    });
  });
}

/** CONCURRENCY loops of connect, request, reply, close: connections per second. */
async function shortConnections(
  port: number,
  pid: number,
  warmupMs: number,
  ms: number,
): Promise<Measured> {
  let done = 0;
  let counting = false;
  let errors = 0;
  let stop = false;
  const one = () =>
    new Promise<void>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      let got = 0;
      socket.once('connect', () => socket.write(REQUEST));
      socket.on('data', (chunk: Buffer) => (got += chunk.length));
      socket.once('error', () => errors++);
      socket.once('close', () => {
        if (got === REPLY.length && counting) done++;
        resolve();
      });
    });
  const loops = Array.from({ length: CONCURRENCY }, async () => {
    while (!stop) await one();
  });
  await new Promise((r) => setTimeout(r, warmupMs));
  counting = true;
  const started = performance.now();
  const cpu = cpuSeconds(pid);
  await new Promise((r) => setTimeout(r, ms));
  counting = false;
  const used = cpuSeconds(pid) - cpu;
  const seconds = (performance.now() - started) / 1_000;
  stop = true;
  await Promise.all(loops);
  if (errors > 0) console.error(`  (${errors} connection errors on port ${port})`);
  return { rate: done / seconds, cpuPerUnit: used / done };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      cleanup();
      process.exit(130);
    });
  }
  const upstream = (await startNode('backend')).ports;
  const wanted = env.CONTENDERS?.split(',') ?? ['switchyard', 'bare', 'haproxy'];
  const contenders: Array<{ id: string; label: string } & Started> = [];
  if (wanted.includes('switchyard')) {
    const started = await startNode('switchyard', upstream);
    contenders.push({ id: 'switchyard', label: 'switchyard createTcpProxy', ...started });
  }
  if (wanted.includes('bare')) {
    const started = await startNode('bare', upstream);
    contenders.push({ id: 'bare', label: 'bare Node net pipe', ...started });
  }
  if (wanted.includes('haproxy')) {
    if (existsSync(HAPROXY)) {
      const started = await startHaproxy(upstream);
      contenders.push({ id: 'haproxy', label: 'HAProxy mode tcp, nbthread 1', ...started });
    } else {
      console.log(`(${HAPROXY} not found: HAProxy left out)`);
    }
  }
  console.log(
    `TCP proxy bench: ${ROUNDS} round(s), ${DURATION / 1_000} s each after ${WARMUP / 1_000} s warm-up, ` +
      `${CONCURRENCY} concurrent short connections; node ${process.version}, ${os.cpus().length} CPUs`,
  );
  type Series = { rate: number[]; cpu: number[] };
  const results = new Map<string, { bulk: Series; short: Series }>(
    contenders.map((c) => [c.id, { bulk: { rate: [], cpu: [] }, short: { rate: [], cpu: [] } }]),
  );
  const record = (round: number, kind: 'bulk' | 'short', id: string, m: Measured): void => {
    const series = results.get(id)![kind];
    series.rate.push(m.rate);
    series.cpu.push(m.cpuPerUnit);
    const figures =
      kind === 'bulk'
        ? `${m.rate.toFixed(2)} GiB/s, proxy CPU ${m.cpuPerUnit.toFixed(2)} s/GiB`
        : `${Math.round(m.rate)} conn/s, proxy CPU ${(m.cpuPerUnit * 1e6).toFixed(0)} µs/conn`;
    console.log(`round ${round} ${kind.padEnd(6)} ${id.padEnd(10)} ${figures}`);
  };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const c of contenders) {
      record(round, 'bulk', c.id, await bulk(c.ports.bulk, c.pid, WARMUP, DURATION));
    }
    for (const c of contenders) {
      record(round, 'short', c.id, await shortConnections(c.ports.short, c.pid, WARMUP, DURATION));
    }
  }
  console.log(
    '\n| contender | bulk GiB/s | proxy CPU s/GiB | short conn/s | proxy CPU µs/conn |\n|---|---|---|---|---|',
  );
  for (const c of contenders) {
    const r = results.get(c.id)!;
    console.log(
      `| ${c.label} | ${median(r.bulk.rate).toFixed(2)} | ${median(r.bulk.cpu).toFixed(2)} | ` +
        `${Math.round(median(r.short.rate))} | ${(median(r.short.cpu) * 1e6).toFixed(0)} |`,
    );
  }
  const sy = results.get('switchyard');
  if (sy !== undefined) {
    for (const peer of ['bare', 'haproxy']) {
      const p = results.get(peer);
      if (p === undefined) continue;
      const bulkRatio = median(sy.bulk.rate) / median(p.bulk.rate);
      const connRatio = median(sy.short.rate) / median(p.short.rate);
      // CPU per unit of work: steadier than rates on a busy machine (lower is better).
      const bulkCpu = median(p.bulk.cpu) / median(sy.bulk.cpu);
      const connCpu = median(p.short.cpu) / median(sy.short.cpu);
      const target = peer === 'bare' ? ' (targets: bulk >= 0.95x, conn/s >= 0.9x)' : '';
      console.log(
        `switchyard / ${peer}: bulk ${bulkRatio.toFixed(2)}x, conn/s ${connRatio.toFixed(2)}x${target}; ` +
          `work per CPU second: bulk ${bulkCpu.toFixed(2)}x, connections ${connCpu.toFixed(2)}x`,
      );
    }
  }
  cleanup();
}

const role = process.argv.indexOf('--role');
if (role >= 0) {
  const name = process.argv[role + 1];
  const upstream = JSON.parse(process.argv[role + 2] ?? '{}') as Ports;
  if (name === 'backend') await backend();
  else if (name === 'bare') await bare(upstream);
  else if (name === 'switchyard') await switchyard(upstream);
  else throw new Error(`unknown role ${name}`);
  // Children go away with the orchestrator.
  process.on('disconnect', () => process.exit(0));
} else {
  await main();
}
