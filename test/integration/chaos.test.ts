import http from 'node:http';
import type { Socket } from 'node:net';
import { Pool as UndiciPool } from 'undici';
import { expect, it, onTestFinished } from 'vitest';
import { HealthMonitor } from '../../src/health/health-monitor.js';
import { createProxyHandler, httpCheck } from '../../src/http/index.js';
import { Pool } from '../../src/pool/pool.js';
import { seededRandom } from '../../src/testing/seeded-random.js';
import { closeServer, eventually, failOnProcessProblems, listen } from '../http/proxy-support.js';

// Three backends under steady concurrent load through the proxy; one is killed mid-run
// (its listener closed, every connection reset, as a crash would) and later restarted on
// the same port. The real Pool, HealthMonitor and proxy; an undici client.
//
// Backends take 0–4 ms per request, so the kill finds requests in flight. A POST is
// "received" when its body has been read and "completed" when it is answered, a few ms
// later; the kill can fall in between. What must hold:
// - not one GET fails (resets before the response and refused connections are retried);
// - no POST is received twice: one the victim had received is not retried elsewhere;
// - every POST the client saw succeed was completed exactly once;
// - every POST received without the client seeing it succeed died with a connection the
//   kill reset (the last request on it), and the client got the proxy's 502 for it: its
//   outcome is unknown to the proxy, which says so rather than retrying. A POST completed
//   there is counted apart (its response was lost to the reset);
// - a POST the client saw fail reached no backend, or is one of those;
// - the restarted backend is back in rotation.

const LOOPS = 8;
const RUN_MS = 4_000;
const KILL_AT_MS = 1_200;
const RESTART_AT_MS = 2_200;
const MAX_DELAY_MS = 4;

failOnProcessProblems();

interface Connection {
  /** Reset by the kill. */
  killed: boolean;
  /** Id of the last POST received on it. */
  lastPost: string | undefined;
}

interface PostRecord {
  /** Times a backend received it (read its whole body). */
  received: number;
  /** Whether a backend answered it. */
  completed: boolean;
  /** The connection it arrived on (the first time). */
  connection: Connection;
}

/** A backend that can be killed abruptly and restarted on the same port. */
class ChaosBackend {
  readonly name: string;
  port = 0;
  /** Requests received by each incarnation (index 0 first, 1 after the restart). */
  readonly served: number[] = [];
  /** Requests in progress at the moment of the kill. */
  inFlightAtKill = 0;
  #server: http.Server | undefined;
  #inFlight = 0;
  readonly #sockets = new Map<Socket, Connection>();
  readonly #posts: Map<string, PostRecord>;
  readonly #random: () => number;

  constructor(name: string, posts: Map<string, PostRecord>, random: () => number) {
    this.name = name;
    this.#posts = posts;
    this.#random = random;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  async start(): Promise<void> {
    const incarnation = this.served.push(0) - 1;
    const server = http.createServer((req, res) => {
      if (req.url === '/health') {
        res.end('ok');
        return;
      }
      const connection = this.#sockets.get(req.socket as Socket)!;
      this.served[incarnation]!++;
      this.#inFlight++;
      res.on('close', () => this.#inFlight--);
      const delay = Math.floor(this.#random() * (MAX_DELAY_MS + 1));
      if (req.method !== 'POST') {
        setTimeout(() => res.end(this.name), delay);
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const id = Buffer.concat(chunks).toString();
        const record = this.#posts.get(id);
        if (record === undefined) {
          this.#posts.set(id, { received: 1, completed: false, connection });
        } else record.received++;
        connection.lastPost = id;
        setTimeout(() => {
          if (connection.killed) return; // the crash came first
          this.#posts.get(id)!.completed = true;
          res.end(`${this.name}:${id}`);
        }, delay);
      });
    });
    server.on('connection', (socket: Socket) => {
      this.#sockets.set(socket, { killed: false, lastPost: undefined });
      socket.on('close', () => this.#sockets.delete(socket));
    });
    if (this.port === 0) this.port = await listen(server);
    else await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.#server = server;
  }

  /** Stops listening and resets every open connection, as a crash would. */
  kill(): void {
    this.inFlightAtKill = this.#inFlight;
    this.#server?.close();
    this.#server = undefined;
    for (const [socket, connection] of this.#sockets) {
      connection.killed = true;
      socket.resetAndDestroy();
    }
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await closeServer(server);
  }
}

it('keeps every GET and never duplicates or silently loses a POST while a backend dies and returns', async () => {
  const posts = new Map<string, PostRecord>();
  const random = seededRandom(7);
  const backends = ['a', 'b', 'c'].map((name) => new ChaosBackend(name, posts, random));
  for (const backend of backends) await backend.start();
  onTestFinished(async () => {
    for (const backend of backends) await backend.stop();
  });

  const pool = new Pool({
    endpoints: backends.map((b) => b.url),
    // Refused connections eject the dead backend at once, and not for long.
    outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 300, maxEjectionMs: 600 },
  });
  const check = httpCheck({ path: '/health' });
  const monitor = new HealthMonitor(pool, {
    check,
    intervalMs: 100,
    unhealthyIntervalMs: 50,
    timeoutMs: 200,
    healthyThreshold: 1,
    unhealthyThreshold: 1,
  });
  monitor.start();
  const proxy = createProxyHandler(pool);
  const proxyServer = http.createServer(proxy);
  const port = await listen(proxyServer);
  const client = new UndiciPool(`http://127.0.0.1:${port}`, { connections: LOOPS });
  onTestFinished(async () => {
    await client.close();
    await closeServer(proxyServer);
    await proxy.close({ force: true });
    await monitor.stop();
    await check.close();
    await pool.close();
  });

  const getFailures: string[] = [];
  const postOk = new Set<string>();
  const postFailed = new Map<string, string>();
  let gets = 0;
  let nextId = 0;
  const started = performance.now();
  const loop = async (loopIndex: number): Promise<void> => {
    let i = 0;
    while (performance.now() - started < RUN_MS) {
      i++;
      if ((i + loopIndex) % 2 === 0) {
        gets++;
        try {
          const { statusCode, body } = await client.request({ path: '/work', method: 'GET' });
          const text = await body.text();
          if (statusCode !== 200 || !/^[abc]$/.test(text)) {
            getFailures.push(`${statusCode} ${text}`);
          }
        } catch (error) {
          getFailures.push(String(error));
        }
      } else {
        const id = `p${nextId++}`;
        try {
          const { statusCode, body } = await client.request({
            path: '/work',
            method: 'POST',
            body: id,
          });
          const text = await body.text();
          if (statusCode === 200 && text.endsWith(`:${id}`)) postOk.add(id);
          else postFailed.set(id, `${statusCode} ${text}`);
        } catch (error) {
          postFailed.set(id, String(error));
        }
      }
      // A steady load, not a flood: the machine is shared.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };
  const victim = backends[1]!;
  let killed = false;
  // Kill when requests are in flight on the victim (the point of the test), or at the
  // latest 300 ms after the planned time.
  const kill = setTimeout(async () => {
    await eventually(() => victim.inFlight >= 2, 300).catch(() => {});
    victim.kill();
    killed = true;
  }, KILL_AT_MS);
  const restart = setTimeout(() => void victim.start(), RESTART_AT_MS);
  onTestFinished(() => {
    clearTimeout(kill);
    clearTimeout(restart);
  });
  await Promise.all(Array.from({ length: LOOPS }, (_, i) => loop(i)));

  // The run was long enough to mean something, and the kill hit requests in flight.
  expect(killed).toBe(true);
  expect(gets).toBeGreaterThan(200);
  expect(postOk.size).toBeGreaterThan(200);
  expect(victim.served[0]).toBeGreaterThan(0);
  expect(victim.inFlightAtKill).toBeGreaterThan(0);

  expect(getFailures).toEqual([]);

  // No POST was received twice.
  const duplicated = [...posts].filter(([, r]) => r.received > 1).map(([id]) => id);
  expect(duplicated).toEqual([]);

  // Every success was completed by a backend.
  const notCompleted = [...postOk].filter((id) => posts.get(id)?.completed !== true);
  expect(notCompleted).toEqual([]);

  // Received but not a success: died with a connection the kill reset, as its last
  // request; the client was told 502.
  const unexplained: string[] = [];
  let diedWithTheBackend = 0;
  let answeredButLost = 0;
  for (const [id, record] of posts) {
    if (postOk.has(id)) continue;
    const failure = postFailed.get(id);
    const killedWithIt = record.connection.killed && record.connection.lastPost === id;
    if (failure === undefined || !/^502 /.test(failure) || !killedWithIt) {
      unexplained.push(`${id}: ${failure ?? 'no answer'}`);
    } else if (record.completed) answeredButLost++;
    else diedWithTheBackend++;
  }
  expect(unexplained).toEqual([]);
  // One request at most per connection the kill reset, so at most the in-flight count.
  expect(diedWithTheBackend + answeredButLost).toBeLessThanOrEqual(victim.inFlightAtKill);
  const completed = [...posts.values()].filter((r) => r.completed).length;
  expect(completed).toBe(postOk.size + answeredButLost);

  // Every failure the client saw is the proxy's 502 for a POST it could not retry.
  for (const [id, failure] of postFailed) expect(failure, id).toMatch(/^502 /);

  // The restarted backend is back in rotation.
  expect(victim.served[1]).toBeGreaterThan(0);
}, 30_000);
