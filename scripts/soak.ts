/**
 * Soak: the HTTP proxy under mixed traffic while backends die and come back, watched for
 * leaks and for errors nothing explains.
 *
 * - three backends on 127.0.0.1 (`node:http`) and the load, in this process; the proxy
 *   (`createProxyHandler` from the build, public API only, with a `HealthMonitor`) in a
 *   process of its own (scripts/soak-proxy.ts), so that its memory is measured alone;
 * - clients: GETs of 1 B–1 MiB and POSTs of 1 B–1 MiB (sizes log-uniform), some aborted
 *   at a random moment (before the answer, or in the middle of either body);
 * - raw sockets sending malformed or odd requests (bad request lines and headers, a
 *   broken chunked body, smuggling shapes, a truncated body, absolute-form, CONNECT, …);
 * - one backend killed (its connections destroyed) every 30 s and restarted a third of a
 *   period later; a short run scales the period down (a sixth of the run, at least 3 s);
 * - every 10 s: requests and errors by kind, the proxy process's RSS, heap and event-loop
 *   delay, leases and sockets in use.
 *
 * Fails (exit 1) on: the proxy process's RSS growing after warm-up by more than
 * `--max-rss-growth-mib` (judged after a GC, on the median of the last samples); a lease still
 * held at the end (pool inflight != 0) or a socket left open; a POST that reached a backend
 * twice (each carries an id the backends record); a malformed request left hanging; and
 * any error that no backend kill or client abort explains (a GET failing while every
 * backend is up, a short body presented as complete, an uncaught exception, …).
 *
 * Run: npm run soak                    (10 minutes)
 *      npm run soak -- --minutes 1     (fractions too: --minutes 0.25)
 * Options: --minutes N, --concurrency N (24), --report-seconds N (10),
 *          --max-rss-growth-mib N (64).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import type { FromProxy, ProxyStats, ToProxy } from './soak-proxy.js';

// ---------------------------------------------------------------- options

interface Settings {
  readonly minutes: number;
  readonly concurrency: number;
  readonly reportSeconds: number;
  readonly maxRssGrowthMiB: number;
}

function parseArgs(argv: readonly string[]): Settings {
  const values: Record<string, number> = {
    minutes: 10,
    concurrency: 24,
    'report-seconds': 10,
    'max-rss-growth-mib': 64,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.split('=', 2) as [string, string | undefined];
    const name = flag.replace(/^--/, '');
    if (!flag.startsWith('--') || !(name in values)) {
      fail(
        `unknown argument ${JSON.stringify(arg)}; options: ${Object.keys(values)
          .map((k) => `--${k}`)
          .join(', ')}`,
      );
    }
    const text = inline ?? argv[++i];
    const value = Number(text);
    if (text === undefined || text.trim() === '' || !Number.isFinite(value) || value <= 0) {
      fail(`--${name} must be a finite number > 0, got ${JSON.stringify(text)}`);
    }
    values[name] = value;
  }
  return {
    minutes: values.minutes!,
    concurrency: Math.max(1, Math.round(values.concurrency!)),
    reportSeconds: values['report-seconds']!,
    maxRssGrowthMiB: values['max-rss-growth-mib']!,
  };
}

function fail(message: string): never {
  console.error(`soak: ${message}`);
  process.exit(2);
}

const settings = parseArgs(process.argv.slice(2));
const DURATION_MS = settings.minutes * 60_000;
/** Kill period: 30 s, or a sixth of a short run (at least 3 s). */
const KILL_PERIOD_MS = Math.max(3_000, Math.min(30_000, DURATION_MS / 6));
const DOWN_MS = KILL_PERIOD_MS / 3;
/** Warm-up: a quarter of the run, at most 60 s; RSS is judged from its end. */
const WARMUP_MS = Math.min(60_000, DURATION_MS / 4);
/** A request this close to a backend's restart may still see the outage. */
const KILL_GRACE_MS = 1_000;
const MAX_BODY = 1 << 20;
const PAYLOAD = randomBytes(MAX_BODY);

// ---------------------------------------------------------------- bookkeeping

const counts = new Map<string, number>();
const unexplained = new Map<string, number>();
const examples: string[] = [];
let requests = 0;
let ok = 0;

function count(table: Map<string, number>, kind: string): void {
  table.set(kind, (table.get(kind) ?? 0) + 1);
}

function problem(kind: string, detail: string): void {
  count(unexplained, kind);
  if (examples.length < 20) examples.push(`${kind}: ${detail}`);
}

process.on('uncaughtException', (error) => problem('uncaught-exception', String(error?.stack)));
process.on('unhandledRejection', (error) =>
  problem('unhandled-rejection', String((error as Error)?.stack ?? error)),
);

/** POST ids seen by the backends: a count per id (ids are sequential, so an array does). */
let postSeen = new Uint8Array(1 << 16);
let duplicates = 0;
function sawPost(id: number): void {
  while (id >= postSeen.length) {
    const grown = new Uint8Array(postSeen.length * 2);
    grown.set(postSeen);
    postSeen = grown;
  }
  if (postSeen[id]! >= 1) {
    duplicates++;
    if (examples.length < 20) examples.push(`duplicated POST: id ${id} reached a backend twice`);
  }
  postSeen[id] = Math.min(255, postSeen[id]! + 1);
}

/**
 * Outages: from a backend's kill to its restart. A request in flight across a kill may fail
 * (its backend died under it); one made while a backend is down may fail too, once the
 * retry budget is spent (the pool can send traffic to the dead endpoint until a health
 * check or an ejection takes it out, and in panic). Those are counted apart, not failures.
 */
const outages: Array<{ from: number; to: number }> = [];
function during(start: number, end: number): 'kill' | 'down' | undefined {
  for (let i = outages.length - 1; i >= 0; i--) {
    const { from, to } = outages[i]!;
    if (to + KILL_GRACE_MS < start) break;
    if (from > end) continue;
    return start <= from ? 'kill' : 'down';
  }
  return undefined;
}

// ---------------------------------------------------------------- backends

class Backend {
  readonly name: string;
  port = 0;
  up = false;
  readonly #sockets = new Set<net.Socket>();
  #server: http.Server | undefined;

  constructor(name: string) {
    this.name = name;
  }

  get sockets(): number {
    return this.#sockets.size;
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => this.#handle(req, res));
    server.keepAliveTimeout = 5_000;
    server.on('connection', (socket: net.Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    // A server has no upgrade handler: refuse upgrades plainly rather than leaving them.
    server.on('upgrade', (_req, socket: net.Socket) => {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    for (let tries = 0; ; tries++) {
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(this.port, '127.0.0.1', () => {
            server.off('error', reject);
            resolve();
          });
        });
        break;
      } catch (error) {
        // The port of a restarted backend may linger a moment; anything else is fatal.
        if ((error as { code?: string }).code !== 'EADDRINUSE' || tries > 50) throw error;
        await sleep(100);
      }
    }
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
    this.up = true;
  }

  /** A crash: stop listening and destroy every connection, mid-request or not. */
  kill(): Promise<void> {
    this.up = false;
    const server = this.#server;
    this.#server = undefined;
    for (const socket of this.#sockets) socket.destroy();
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    req.on('error', () => {}); // a client (the proxy) may go away mid-body: that is fine
    res.on('error', () => {});
    const url = req.url ?? '/';
    if (url === '/healthz') {
      res.end('ok');
      return;
    }
    if (req.method === 'POST') {
      const id = Number(req.headers['x-soak-id']);
      if (Number.isInteger(id) && id >= 0) sawPost(id);
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-backend': this.name });
        res.end(JSON.stringify({ bytes }));
      });
      return;
    }
    const match = /^\/bytes\/(\d+)/.exec(url);
    const size = match ? Math.min(Number(match[1]), MAX_BODY) : 2;
    req.resume();
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': size,
      'x-backend': this.name,
    });
    // Large bodies in a few writes, so that a kill can land in the middle of one.
    let sent = 0;
    const step = 256 * 1024;
    const next = (): void => {
      while (sent < size) {
        const end = Math.min(size, sent + step);
        const more = res.write(PAYLOAD.subarray(sent, end));
        sent = end;
        if (!more) {
          res.once('drain', next);
          return;
        }
      }
      res.end();
    };
    next();
  }
}

// ---------------------------------------------------------------- the proxy

const backends = [new Backend('a'), new Backend('b'), new Backend('c')];
for (const b of backends) await b.start();

/** The proxy process: started once the backends listen, answering stats and `finish`. */
class ProxyProcess {
  readonly #child: ChildProcess;
  readonly #waiting: Array<(message: FromProxy) => void> = [];
  exited: string | undefined;

  constructor(ports: readonly number[]) {
    this.#child = fork(fileURLToPath(new URL('./soak-proxy.ts', import.meta.url)), [], {
      env: { ...process.env, SOAK_BACKENDS: ports.join(',') },
      // The young generation at its full size from the start: V8 otherwise grows it under
      // load (to 2 × 64 MiB), which reads as RSS growth long after warm-up though nothing
      // is retained. Old space, where a leak would show, is left to grow as it will.
      execArgv: ['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (message: FromProxy) => this.#waiting.shift()?.(message));
    this.#child.on('exit', (code, signal) => {
      this.exited = `the proxy process exited (code ${code}, signal ${signal})`;
    });
  }

  /** Sends `message` (if any) and resolves the next message, or `undefined` after 30 s. */
  ask(message: ToProxy | undefined): Promise<FromProxy | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.splice(this.#waiting.indexOf(done), 1);
        resolve(undefined);
      }, 30_000);
      const done = (reply: FromProxy) => {
        clearTimeout(timer);
        resolve(reply);
      };
      this.#waiting.push(done);
      if (message !== undefined) this.#child.send(message);
    });
  }

  async stats(): Promise<ProxyStats | undefined> {
    const reply = await this.ask({ type: 'stats' });
    return reply?.type === 'stats' ? reply.stats : undefined;
  }

  kill(): void {
    if (this.exited === undefined) this.#child.kill();
  }
}

const proxyProcess = new ProxyProcess(backends.map((b) => b.port));
const ready = await proxyProcess.ask(undefined);
if (ready?.type !== 'ready') {
  console.error(`soak: the proxy process did not start (${proxyProcess.exited ?? 'no answer'})`);
  proxyProcess.kill();
  process.exit(1);
}
const PROXY_PORT = ready.port;
const PROXY = `http://127.0.0.1:${PROXY_PORT}`;

// ---------------------------------------------------------------- clients

const client = new Agent({ connections: settings.concurrency, keepAliveTimeout: 10_000 });
let nextPostId = 0;
let stopping = false;

/** Log-uniform in [1, 1 MiB]: most bodies small, some large. */
function bodySize(): number {
  return Math.max(1, Math.min(MAX_BODY, Math.floor(Math.exp(Math.random() * Math.log(MAX_BODY)))));
}

function errorKind(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown; cause?: { code?: unknown } } | null;
  return String(e?.code ?? e?.cause?.code ?? e?.name ?? 'error');
}

async function oneRequest(): Promise<void> {
  const post = Math.random() < 0.35;
  const size = bodySize();
  const controller = new AbortController();
  // 5 %: the client gives up at a random moment (before the answer or mid-body).
  const abortAfter = Math.random() < 0.05 ? Math.random() * 30 : -1;
  const timer =
    abortAfter >= 0
      ? setTimeout(() => controller.abort(new Error('client abort')), abortAfter)
      : undefined;
  const start = performance.now();
  requests++;
  const id = post ? nextPostId++ : -1;
  try {
    const res = await request(post ? `${PROXY}/echo` : `${PROXY}/bytes/${size}`, {
      dispatcher: client,
      method: post ? 'POST' : 'GET',
      headers: post ? { 'x-soak-id': String(id), 'content-type': 'application/octet-stream' } : {},
      body: post ? PAYLOAD.subarray(0, size) : null,
      signal: controller.signal,
    });
    let received = 0;
    let text = '';
    for await (const chunk of res.body) {
      received += (chunk as Buffer).length;
      if (post) text += (chunk as Buffer).toString();
    }
    const end = performance.now();
    if (res.statusCode !== 200) {
      const kind = `status-${res.statusCode}`;
      const outage = during(start, end);
      if (outage !== undefined) count(counts, `${outage}:${kind}`);
      else problem(kind, `${post ? 'POST' : 'GET'} ${size} B answered ${res.statusCode}`);
      return;
    }
    const got = post ? (JSON.parse(text) as { bytes: number }).bytes : received;
    if (got !== size) {
      problem('short-body', `${post ? 'POST' : 'GET'} of ${size} B: ${got} B in a clean answer`);
      return;
    }
    ok++;
  } catch (error) {
    const end = performance.now();
    const kind = errorKind(error);
    if (controller.signal.aborted) count(counts, 'client-abort');
    else if (during(start, end) !== undefined) count(counts, `${during(start, end)}:${kind}`);
    else problem(kind, `${post ? 'POST' : 'GET'} ${size} B failed: ${String(error)}`);
  } finally {
    clearTimeout(timer);
  }
}

async function worker(): Promise<void> {
  while (!stopping) await oneRequest();
}

// ---------------------------------------------------------------- malformed requests

const HOST = `Host: 127.0.0.1:${PROXY_PORT}\r\n`;
/** Raw requests: [name, bytes, destroy right after writing (an abandoned request)]. */
const MALFORMED: ReadonlyArray<readonly [string, string, boolean]> = [
  ['garbage', 'GARBAGE\r\n\r\n', false],
  ['space-in-header-name', `GET / HTTP/1.1\r\n${HOST}Bad Header: y\r\n\r\n`, false],
  [
    'control-byte-in-value',
    `GET /bytes/3 HTTP/1.1\r\n${HOST}X-A: a\x01b\r\nConnection: close\r\n\r\n`,
    false,
  ],
  ['nul-in-target', `GET /a\x00b HTTP/1.1\r\n${HOST}\r\n`, false],
  ['header-without-colon', `GET / HTTP/1.1\r\n${HOST}NoColon\r\n\r\n`, false],
  [
    'absolute-form',
    `GET http://127.0.0.1:1/bytes/4 HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`,
    false,
  ],
  ['connect', `CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n\r\n`, false],
  ['asterisk-form', `OPTIONS * HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`, false],
  ['dot-segments', `GET /../%2e%2e/bytes/5 HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`, false],
  [
    'cl-and-te',
    `POST /echo HTTP/1.1\r\n${HOST}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    false,
  ],
  [
    'bad-chunk',
    `POST /echo HTTP/1.1\r\n${HOST}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n`,
    false,
  ],
  ['negative-length', `POST /echo HTTP/1.1\r\n${HOST}Content-Length: -1\r\n\r\n`, false],
  [
    'two-lengths',
    `POST /echo HTTP/1.1\r\n${HOST}Content-Length: 1\r\nContent-Length: 2\r\n\r\nab`,
    false,
  ],
  ['http-9.9', `GET /bytes/3 HTTP/9.9\r\n${HOST}\r\n`, false],
  ['huge-header', `GET / HTTP/1.1\r\n${HOST}X-Big: ${'x'.repeat(20_000)}\r\n\r\n`, false],
  ['bare-lf', `GET /bytes/3 HTTP/1.1\n${HOST.replace('\r\n', '\n')}Connection: close\n\n`, false],
  [
    'connection-names-header',
    `GET /bytes/3 HTTP/1.1\r\n${HOST}Connection: close, x-hop\r\nX-Hop: 1\r\n\r\n`,
    false,
  ],
  [
    'pipelined',
    `GET /bytes/5 HTTP/1.1\r\n${HOST}\r\nGET /bytes/6 HTTP/1.1\r\n${HOST}Connection: close\r\n\r\n`,
    false,
  ],
  [
    'upgrade-refused',
    `GET / HTTP/1.1\r\n${HOST}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    false,
  ],
  [
    'upgrade-h2c',
    `GET / HTTP/1.1\r\n${HOST}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n`,
    false,
  ],
  ['truncated-body', `POST /echo HTTP/1.1\r\n${HOST}Content-Length: 1000\r\n\r\nabc`, true],
  ['headers-cut', `GET /bytes/9 HTTP/1.1\r\n${HOST}X-Half: `, true],
];

const malformedOutcomes = new Map<string, number>();

/** Sends one raw request; an answer or a close within 5 s is fine, silence is a hang. */
function sendMalformed(name: string, bytes: string, abandon: boolean): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(PROXY_PORT, '127.0.0.1');
    let data = '';
    let settled = false;
    const done = (outcome: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (outcome === 'hang')
        problem('malformed-hang', `${name}: neither an answer nor a close in 5 s`);
      else count(malformedOutcomes, outcome);
      resolve();
    };
    const timer = setTimeout(() => done(data ? status(data) : 'hang'), 5_000);
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      // An answer with a complete head is enough: keep-alive may hold the socket open.
      if (data.includes('\r\n\r\n')) done(status(data));
    });
    socket.on('error', () => done(data ? status(data) : 'reset'));
    socket.on('close', () => done(data ? status(data) : 'closed'));
    socket.write(bytes, 'latin1', () => {
      if (abandon) setTimeout(() => done('abandoned'), 5);
    });
  });
}

function status(data: string): string {
  return `answered-${/^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1] ?? 'garbled'}`;
}

async function malformedLoop(): Promise<void> {
  let i = 0;
  while (!stopping) {
    const [name, bytes, abandon] = MALFORMED[i++ % MALFORMED.length]!;
    await sendMalformed(name, bytes, abandon);
    await sleep(50);
  }
}

// ---------------------------------------------------------------- chaos

async function chaosLoop(started: number): Promise<void> {
  let victim = 0;
  let due = started + KILL_PERIOD_MS;
  while (!stopping) {
    await sleep(Math.min(250, Math.max(0, due - performance.now())));
    if (stopping || performance.now() < due) continue;
    const backend = backends[victim++ % backends.length]!;
    const outage = { from: performance.now(), to: Number.POSITIVE_INFINITY };
    outages.push(outage);
    await backend.kill();
    count(counts, 'backend-killed');
    await sleep(DOWN_MS);
    await backend.start(); // same port: the pool's endpoint comes back
    outage.to = performance.now();
    due += KILL_PERIOD_MS;
  }
}

// ---------------------------------------------------------------- reports

const MiB = 1024 * 1024;

function table(map: Map<string, number>): string {
  return (
    [...map]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || '-'
  );
}

let lastRequests = 0;
/** RSS samples of the proxy process (after a GC), taken after warm-up. */
const rssSamples: number[] = [];

async function report(elapsedMs: number): Promise<void> {
  const rate = (requests - lastRequests) / settings.reportSeconds;
  lastRequests = requests;
  const p = await proxyProcess.stats();
  if (p === undefined) {
    problem('proxy-unresponsive', proxyProcess.exited ?? 'no stats from the proxy process in 30 s');
    return;
  }
  if (elapsedMs >= WARMUP_MS && !stopping) rssSamples.push(p.rss);
  for (const text of p.problems) if (!examples.includes(text)) problem('proxy-process', text);
  console.log(
    `[${(elapsedMs / 1000).toFixed(0).padStart(4)} s] requests ${requests} (${rate.toFixed(0)}/s), ok ${ok}` +
      ` | proxy rss ${(p.rss / MiB).toFixed(1)} MiB, heap ${(p.heapUsed / MiB).toFixed(1)} of ${(p.heapTotal / MiB).toFixed(1)} MiB, buffers ${(p.arrayBuffers / MiB).toFixed(1)} MiB` +
      ` | event-loop delay p50 ${p.delayP50.toFixed(1)} p99 ${p.delayP99.toFixed(1)} max ${p.delayMax.toFixed(1)} ms` +
      ` | leases ${p.inflight}, client sockets ${p.clientSockets}, upstream sockets ${backends.reduce((n, b) => n + b.sockets, 0)}, ejected ${p.ejected}, unhealthy ${p.unhealthy}${p.panics > 0 ? `, panic seen ${p.panics}×` : ''}` +
      `\n         errors: ${table(counts)} | unexplained: ${table(unexplained)} | proxy errors: ${table(new Map(p.proxyErrors))} | retries: ${table(new Map(p.retries))}`,
  );
}

// ---------------------------------------------------------------- the run

async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const until = performance.now() + ms;
  while (!check()) {
    if (performance.now() > until) return false;
    await sleep(50);
  }
  return true;
}

console.log(
  `soak: ${settings.minutes} min, ${settings.concurrency} clients, a backend killed every ${(KILL_PERIOD_MS / 1000).toFixed(1)} s for ${(DOWN_MS / 1000).toFixed(1)} s, warm-up ${(WARMUP_MS / 1000).toFixed(0)} s, proxy on ${PROXY}`,
);

const started = performance.now();
const workers = Array.from({ length: settings.concurrency }, () => worker());
const background = [malformedLoop(), chaosLoop(started)];
const reporter = setInterval(
  () => void report(performance.now() - started),
  settings.reportSeconds * 1000,
);

await sleep(DURATION_MS);
stopping = true;
clearInterval(reporter);
const failures: string[] = [];

const settled = await Promise.race([
  Promise.all([...workers, ...background]).then(() => true),
  sleep(30_000).then(() => false),
]);
if (!settled) failures.push('clients did not finish within 30 s of the end: a request hangs');
for (const b of backends) if (!b.up) await b.start();
await report(performance.now() - started);

// The load has stopped and the clients hang up: the proxy process checks its leases and
// client sockets, closes, and checks its own sockets…
await client.close();
const finished = await proxyProcess.ask({ type: 'finish' });
if (finished?.type === 'finished') failures.push(...finished.failures);
else
  failures.push(`the proxy process did not finish: ${proxyProcess.exited ?? 'no answer in 30 s'}`);
// …once it closed, no upstream connection may be open on a backend.
if (!(await eventually(() => backends.every((b) => b.sockets === 0), 10_000))) {
  failures.push(
    `leaked socket: upstream connections still open (${backends.map((b) => `${b.name} ${b.sockets}`).join(', ')})`,
  );
}
for (const b of backends) await b.kill();
const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
if (!(await eventually(() => sockets() === 0, 5_000))) {
  failures.push(`leaked socket: ${sockets()} TCP socket(s) still open in the load process`);
}
proxyProcess.kill();

// Memory: the proxy process's RSS after warm-up, judged on medians of three samples, so
// one high-water moment (a burst of large bodies) neither fails nor hides a trend.
const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
if (rssSamples.length >= 4) {
  const first = median(rssSamples.slice(0, 3));
  const last = median(rssSamples.slice(-3));
  const growth = (last - first) / MiB;
  console.log(
    `proxy rss after warm-up ${(first / MiB).toFixed(1)} MiB, at the end ${(last / MiB).toFixed(1)} MiB (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MiB)`,
  );
  if (growth > settings.maxRssGrowthMiB) {
    failures.push(
      `the proxy's RSS grew by ${growth.toFixed(1)} MiB after warm-up (limit ${settings.maxRssGrowthMiB} MiB)`,
    );
  }
} else {
  console.log('proxy rss: too few samples after warm-up to judge growth (a longer run does)');
}
if (duplicates > 0) failures.push(`duplicated POST: ${duplicates} POST(s) reached a backend twice`);
if (unexplained.size > 0) failures.push(`unexplained errors: ${table(unexplained)}`);
if (ok === 0) failures.push('no request succeeded');

console.log(`malformed requests: ${table(malformedOutcomes)}`);
console.log(`requests ${requests}, ok ${ok}, POSTs ${nextPostId}, backend kills ${outages.length}`);
for (const example of examples) console.log(`  ${example}`);
if (failures.length > 0) {
  for (const f of failures) console.error(`soak FAILED: ${f}`);
  process.exit(1);
}
console.log('soak passed');
