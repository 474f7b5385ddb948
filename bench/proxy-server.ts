/**
 * One process of the proxy benchmark (bench/proxy.ts starts it): either one proxy under test,
 * or the Node backend. Every server listens on 127.0.0.1 only. The process reports its
 * ports over IPC, answers `{ type: 'rss' }` with its resident set size, and exits as soon
 * as its parent goes away, so nothing outlives a benchmark run.
 *
 *   node bench/proxy-server.ts <role> '<json array of backend origins>'
 *
 * Roles: `backend` (three ports: 78 B on `/`, 64 KiB on `/big`, a discarding `POST /sink`,
 * a generating `GET /source?bytes=N`), `switchyard`, `switchyard-hooks` (no-op
 * `rewriteRequest` and `rewriteResponse`), `switchyard-dashboard`, `serve` (the command
 * line as a child process, from a config file, `--workers 1`), `serve-workers` (the same with
 * `--workers $WORKERS`, default 2; the resident set of both is the child's process tree's:
 * primary and workers together), `node`, `undici`,
 * `http-proxy`, `fastify`.
 */
import { once } from 'node:events';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { treeMemory } from './resident.ts';

const require = createRequire(import.meta.url);

const role = process.argv[2] ?? '';
const origins: string[] = JSON.parse(process.argv[3] ?? '[]');

if (typeof process.send !== 'function') {
  console.error('bench/proxy-server.ts is started by bench/proxy.ts (it needs an IPC channel)');
  process.exit(2);
}
process.on('disconnect', () => process.exit(0));
process.on('message', (message: { type?: string }) => {
  if (message?.type === 'rss') {
    const m = process.memoryUsage();
    const mib = (n: number) => (n / 2 ** 20).toFixed(0);
    if (servePid !== undefined) {
      // The serve process tree's memory, each physical page once (bench/resident.ts); this
      // process only waits for the child, so its own memory is not the proxy's.
      const tree = treeMemory(servePid);
      const [primary = 0, ...workers] = tree.perProcess;
      const each = `primary ${mib(primary)}${workers.length > 0 ? `, workers ${workers.map(mib).join(' + ')}` : ''}`;
      process.send!({
        type: 'rss',
        rss: tree.distinct ?? tree.summed,
        detail:
          tree.distinct === undefined
            ? `RSS summed: ${each}`
            : `distinct pages of the serve process tree; RSS ${each}, summed ${mib(tree.summed)}`,
      });
      return;
    }
    process.send!({
      type: 'rss',
      rss: m.rss,
      // Where this process's resident memory is.
      detail: `heap ${mib(m.heapUsed)}/${mib(m.heapTotal)}, external ${mib(m.external)}, array buffers ${mib(m.arrayBuffers)}`,
    });
  }
});

/** The `switchyard serve` child's pid (the `serve` roles only). */
let servePid: number | undefined;

/** Exactly 78 bytes, like the NGINX set-up's small body. */
const SMALL_BODY = Buffer.from(
  'switchyard benchmark: a small response body of exactly seventy-eight bytes...\n',
);
if (SMALL_BODY.length !== 78) throw new Error(`small body is ${SMALL_BODY.length} bytes`);
const BIG_BODY = Buffer.alloc(64 * 1024, 'x');

async function listen(server: http.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

let next = 0;
function roundRobin(): string {
  const origin = origins[next]!;
  next = next + 1 === origins.length ? 0 : next + 1;
  return origin;
}

function badGateway(res: http.ServerResponse): void {
  if (res.headersSent) res.destroy();
  else res.writeHead(502).end('bad gateway\n');
}

async function backend(): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) {
    let port = 0;
    const server = http.createServer((req, res) => {
      const url = req.url ?? '/';
      if (req.method === 'POST' && url === '/sink') {
        let bytes = 0;
        req.on('data', (chunk: Buffer) => (bytes += chunk.length));
        req.on('end', () => res.writeHead(200, { 'x-backend': port }).end(`${bytes}`));
        return;
      }
      if (url.startsWith('/source?bytes=')) {
        let left = Number(url.slice('/source?bytes='.length));
        res.writeHead(200, { 'x-backend': port, 'content-length': left });
        const pump = (): void => {
          while (left > 0) {
            const chunk = left >= BIG_BODY.length ? BIG_BODY : BIG_BODY.subarray(0, left);
            left -= chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        res.on('close', () => (left = 0));
        pump();
        return;
      }
      const body = url === '/big' ? BIG_BODY : SMALL_BODY;
      res.writeHead(200, {
        'content-type': 'text/plain',
        'content-length': body.length,
        'x-backend': port,
      });
      res.end(body);
    });
    server.keepAliveTimeout = 65_000;
    port = await listen(server);
    ports.push(port);
  }
  return ports;
}

async function switchyard(): Promise<number> {
  const { Pool, RoundRobin } = await import('../dist/index.js');
  const { createProxyHandler } = await import('../dist/http.js');
  const pool = new Pool({ endpoints: origins, selector: new RoundRobin() });
  return listen(http.createServer(createProxyHandler(pool)));
}

/** switchyard with no-op request and response hooks: what the hooks cost when present. */
async function switchyardHooks(): Promise<number> {
  const { Pool, RoundRobin } = await import('../dist/index.js');
  const { createProxyHandler } = await import('../dist/http.js');
  const pool = new Pool({ endpoints: origins, selector: new RoundRobin() });
  const proxy = createProxyHandler(pool, {
    rewriteRequest: (head: { headers: Record<string, unknown> }) => {
      head.headers['x-hooked'] = '1';
    },
    rewriteResponse: (head: { headers: Record<string, unknown> }) => {
      delete head.headers.server;
    },
  });
  return listen(http.createServer(proxy));
}

/**
 * switchyard with a dashboard on a second port of the same process and one page's event
 * stream open: what recording the figures and serving a page cost the proxy.
 */
async function switchyardDashboard(): Promise<number> {
  const { Pool, RoundRobin } = await import('../dist/index.js');
  const { createProxyHandler } = await import('../dist/http.js');
  const { createDashboard } = await import('../dist/dashboard.js');
  const pool = new Pool({ endpoints: origins, selector: new RoundRobin() });
  const dashboardPort = await listen(http.createServer(createDashboard({ pools: { app: pool } })));
  http
    .get(`http://127.0.0.1:${dashboardPort}/api/events`, (res) => res.resume())
    .on('error', () => {});
  return listen(http.createServer(createProxyHandler(pool)));
}

async function bareNode(): Promise<number> {
  const agent = new http.Agent({ keepAlive: true });
  const targets = origins.map((origin) => new URL(origin));
  let i = 0;
  return listen(
    http.createServer((req, res) => {
      const target = targets[i]!;
      i = i + 1 === targets.length ? 0 : i + 1;
      const upstream = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent,
        },
        (response) => {
          res.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(res);
        },
      );
      upstream.on('error', () => badGateway(res));
      req.pipe(upstream);
    }),
  );
}

async function undiciBalancedPool(): Promise<number> {
  const { BalancedPool } = await import('undici');
  const pool = new BalancedPool(origins);
  return listen(
    http.createServer(async (req, res) => {
      try {
        const bodyless = req.method === 'GET' || req.method === 'HEAD';
        const { statusCode, headers, body } = await pool.request({
          path: req.url ?? '/',
          method: req.method as 'GET',
          headers: req.headers,
          body: bodyless ? null : req,
        });
        res.writeHead(statusCode, headers);
        body.pipe(res);
      } catch {
        badGateway(res);
      }
    }),
  );
}

async function httpProxy(): Promise<number> {
  const httpProxyModule = require('http-proxy');
  const proxy = httpProxyModule.createProxyServer({ agent: new http.Agent({ keepAlive: true }) });
  proxy.on('error', (_error: Error, _req: http.IncomingMessage, res: http.ServerResponse) =>
    badGateway(res),
  );
  return listen(http.createServer((req, res) => proxy.web(req, res, { target: roundRobin() })));
}

async function fastifyReplyFrom(): Promise<number> {
  const { default: Fastify } = await import('fastify');
  const { default: replyFrom } = await import('@fastify/reply-from');
  const app = Fastify({ logger: false });
  // An array `base` makes reply-from forward through an undici BalancedPool.
  await app.register(replyFrom, { base: origins });
  app.get('/*', (_request, reply) => reply.from());
  await app.listen({ host: '127.0.0.1', port: 0 });
  return (app.server.address() as AddressInfo).port;
}

/**
 * `switchyard serve` as the bin runs it (`node dist/cli.js serve`), a child of this process,
 * from a config of one HTTP listener over the same origins with round robin and every other
 * default, so it measures what the command line adds to `createProxyHandler` (nothing per
 * request, by design). Its resident set is the whole process tree's: the primary and, with
 * `--workers`, every worker it forked. Its few log lines go to stderr.
 */
async function serve(workers = 1): Promise<number> {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { spawn } = await import('node:child_process');
  const probe = http.createServer();
  const port = await listen(probe);
  await new Promise((resolve) => probe.close(resolve));
  const file = join(mkdtempSync(join(tmpdir(), 'switchyard-bench-')), 'serve.json');
  writeFileSync(
    file,
    JSON.stringify({
      pools: { app: { endpoints: origins, selector: 'round-robin' } },
      listeners: [{ protocol: 'http', listen: `127.0.0.1:${port}`, pool: 'app' }],
    }),
  );
  const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [cli, 'serve', '--config', file, '--workers', String(workers)],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  servePid = child.pid;
  // The bin's SIGTERM drains and ends its workers. The bench ends this process with SIGTERM
  // or by going away (disconnect); either way the child goes first.
  process.on('exit', () => child.kill('SIGTERM'));
  process.on('SIGTERM', () => process.exit(0));
  child.on('exit', (code, signal) => {
    console.error(`switchyard serve exited (${code ?? signal})`);
    process.exit(1);
  });
  for (let tries = 0; ; tries++) {
    const up = await new Promise<boolean>((resolve) => {
      http
        .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
          res.resume();
          resolve(true);
        })
        .on('error', () => resolve(false));
    });
    if (up) return port;
    if (tries > 200) throw new Error(`switchyard serve not listening on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const roles: Record<string, () => Promise<number | number[]>> = {
  backend,
  switchyard,
  'switchyard-hooks': switchyardHooks,
  'switchyard-dashboard': switchyardDashboard,
  serve: () => serve(),
  'serve-workers': () => serve(Number(process.env.WORKERS ?? 2)),
  node: bareNode,
  undici: undiciBalancedPool,
  'http-proxy': httpProxy,
  fastify: fastifyReplyFrom,
};

const start = roles[role];
if (start === undefined) {
  console.error(`unknown role ${JSON.stringify(role)}; one of ${Object.keys(roles).join(', ')}`);
  process.exit(2);
}
try {
  const result = await start();
  process.send({ type: 'ready', ports: Array.isArray(result) ? result : [result] });
} catch (error) {
  process.send({ type: 'failed', message: String((error as Error)?.stack ?? error) });
  process.exitCode = 1;
  process.disconnect();
}
