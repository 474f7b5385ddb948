import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDashboard, type Dashboard } from '../dashboard/index.js';
import { createProxyHandler, httpCheck } from '../http/index.js';
import { HealthMonitor, PeakEwma, Pool } from '../index.js';
import { checkNumber, checkOptions, quote } from '../validate.js';
import { DemoBackend } from './demo-backend.js';
import {
  DEFAULT_DEMO_DURATION_MS,
  DEFAULT_DEMO_RATE,
  type DemoOptions,
  type DemoOutput,
  type DemoSummary,
} from './demo-options.js';
import { COLUMN, fresh, median, printSummary, seconds, type Window } from './demo-report.js';
import { type DemoResponse, DemoTraffic } from './demo-traffic.js';
import { openUrl } from './open-url.js';

const SPEEDS: ReadonlyArray<readonly [string, number]> = [
  ['fast', 5],
  ['medium', 20],
  ['slow', 60],
];
const HEALTH_INTERVAL_MS = 500;

/**
 * `switchyard demo`: three local backends of different speed (about 5, 20 and 60 ms) behind
 * the load balancer — a `Pool` with `PeakEwma`, a `HealthMonitor` probing `/healthz` every
 * 500 ms (out after 2 failures, back after 2 successes) and `createProxyHandler` — with a
 * steady traffic generator, and the dashboard (`createDashboard`, with a random admin
 * token) on its own port: its URL is the first line printed, and `open` opens it. Every
 * second it prints each backend's share, rate, median latency and state. Partway it kills the fast backend (port closed, connections reset)
 * and later restarts it, so failover, ejection and restoration show. Then it prints a
 * summary and resolves; everything it started is closed. Only 127.0.0.1 is used.
 * @returns the summary's figures.
 * @throws TypeError or RangeError for a bad option, before anything starts.
 * @example
 * ```ts
 * const controller = new AbortController();
 * process.once('SIGINT', () => controller.abort());
 * const summary = await runDemo({ durationMs: 10_000, signal: controller.signal });
 * console.log(summary.failures); // 0: GETs that hit the dead backend were retried
 * ```
 */
export async function runDemo(options?: DemoOptions): Promise<DemoSummary> {
  const o = checkOptions('runDemo', options, [
    'durationMs',
    'rate',
    'killAtMs',
    'restoreAtMs',
    'output',
    'signal',
    'open',
  ]);
  const durationMs =
    o.durationMs === undefined
      ? DEFAULT_DEMO_DURATION_MS
      : checkNumber('durationMs', o.durationMs, { min: 1_000, max: 3_600_000 });
  const rate =
    o.rate === undefined ? DEFAULT_DEMO_RATE : checkNumber('rate', o.rate, { min: 1, max: 5_000 });
  const killAtMs =
    o.killAtMs === undefined
      ? Math.round(durationMs * 0.3)
      : checkNumber('killAtMs', o.killAtMs, { min: 0, max: durationMs });
  const restoreAtMs =
    o.restoreAtMs === undefined
      ? Math.max(killAtMs, Math.round(durationMs * 0.6))
      : checkNumber('restoreAtMs', o.restoreAtMs, { min: killAtMs, max: durationMs });
  const output = (o.output ?? process.stdout) as DemoOutput;
  if (typeof output?.write !== 'function') {
    throw new TypeError(`output must have a write(text) method, got ${quote(o.output)}`);
  }
  const signal = o.signal as AbortSignal | undefined;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`signal must be an AbortSignal, got ${quote(signal)}`);
  }
  const open = o.open ?? false;
  if (typeof open !== 'boolean' && typeof open !== 'function') {
    throw new TypeError(`open must be a boolean or a function, got ${quote(open)}`);
  }
  const print = (line = ''): void => void output.write(`${line}\n`);

  const backends = SPEEDS.map(([name, delay]) => new DemoBackend(name, delay));
  const victim = backends[0]!;
  const check = httpCheck({ path: '/healthz' });
  let pool: Pool | undefined;
  let monitor: HealthMonitor | undefined;
  let proxy: ReturnType<typeof createProxyHandler> | undefined;
  const server = createServer();
  let dashboard: Dashboard | undefined;
  const dashboardServer = createServer();
  const timers: NodeJS.Timeout[] = [];
  let traffic: DemoTraffic | undefined;
  try {
    for (const backend of backends) await backend.start();
    pool = new Pool({
      endpoints: backends.map((b) => ({ id: b.name, url: b.url })),
      selector: new PeakEwma(),
      // Short ejections, so that restoration fits in the demo's seconds.
      outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 2_000, maxEjectionMs: 4_000 },
    });
    monitor = new HealthMonitor(pool, {
      check,
      intervalMs: HEALTH_INTERVAL_MS,
      unhealthyIntervalMs: HEALTH_INTERVAL_MS,
      timeoutMs: 400,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
    });
    proxy = createProxyHandler(pool);
    server.on('request', proxy).on('upgrade', proxy.upgrade);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const proxyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // A token for this run only, so the page's drain/disable/enable buttons can be tried.
    const token = randomBytes(18).toString('base64url');
    dashboard = createDashboard({
      pools: { demo: pool },
      monitors: [monitor],
      admin: { token },
    });
    dashboardServer.on('request', dashboard);
    dashboardServer.listen(0, '127.0.0.1');
    await once(dashboardServer, 'listening');
    const dashboardUrl = `http://127.0.0.1:${(dashboardServer.address() as AddressInfo).port}/`;
    monitor.start();

    print(
      `dashboard  ${dashboardUrl}   live share, latency and state changes (admin token ${token})`,
    );
    if (open !== false) {
      const opener = open === true ? openUrl : open;
      Promise.resolve()
        .then(() => opener(dashboardUrl))
        .catch((error: unknown) =>
          print(
            `  warning: could not open a browser (${error instanceof Error ? error.message : String(error)}): open ${dashboardUrl} yourself`,
          ),
        );
    }
    print();
    print('switchyard demo: three backends of different speed behind one load balancer');
    print();
    print(`  proxy    ${proxyUrl}   PeakEwma selector, failover retries`);
    for (const b of backends) print(`  ${b.name.padEnd(8)} ${b.url}   answers in ~${b.delayMs} ms`);
    print(
      `  health   GET /healthz every ${HEALTH_INTERVAL_MS} ms: out after 2 failures, back after 2 successes`,
    );
    print(
      `  traffic  ${rate} req/s for ${seconds(durationMs)}; ${victim.name} is killed at ${seconds(killAtMs)}` +
        ` and restarted at ${seconds(restoreAtMs)}${signal ? ' (Ctrl-C ends it early)' : ''}`,
    );
    print();
    print(
      `  ${''.padStart(5)}  ${backends.map((b) => b.name.padEnd(COLUMN)).join('')}ok/s  failed`,
    );
    print(`  ${'time'.padStart(5)}  ${'share  req/s     p50  state'.padEnd(COLUMN).repeat(3)}`);

    // ---- bookkeeping ----
    const t0 = performance.now();
    const clock = (): number => performance.now() - t0;
    const byName = new Map(backends.map((b) => [b.name, b]));
    const totals = new Map(backends.map((b) => [b.name, { before: 0, down: 0, after: 0 }]));
    let window = new Map<string, Window>(backends.map((b) => [b.name, fresh()]));
    let windowOk = 0;
    let windowFailed = 0;
    let successes = 0;
    let failures = 0;
    let answered = 0;
    let killedAt = Number.POSITIVE_INFINITY;
    let restoredAt = Number.POSITIVE_INFINITY;
    const causes: Record<string, number> = {};

    const onResponse = (r: DemoResponse): void => {
      answered++;
      if (!r.ok || r.backend === undefined || !byName.has(r.backend)) {
        failures++;
        windowFailed++;
        const cause = r.error ?? 'no x-backend header';
        causes[cause] = (causes[cause] ?? 0) + 1;
        return;
      }
      successes++;
      windowOk++;
      const w = window.get(r.backend)!;
      w.count++;
      w.latencies.push(r.latencyMs);
      const total = totals.get(r.backend)!;
      if (r.sentAt < killedAt) total.before++;
      else if (r.sentAt < restoredAt) total.down++;
      else total.after++;
    };

    const event = (text: string): void => print(`  ${seconds(clock(), 1).padStart(5)}  ${text}`);
    const subscription = pool.onStateChange(({ endpoint, from, to, reason }) => {
      if (from !== undefined && to !== undefined)
        event(`${endpoint.id}: ${from} → ${to} (${reason})`);
    });

    const row = (): void => {
      const served = windowOk || 1;
      const cells = backends.map((b) => {
        const w = window.get(b.name)!;
        const state = pool!.get(b.name)?.state ?? 'removed';
        return [
          `${Math.round((100 * w.count) / served)}%`.padStart(5),
          String(w.count).padStart(7),
          (w.count ? `${Math.round(median(w.latencies))} ms` : '–').padStart(8),
          `  ${state}`.padEnd(COLUMN - 20),
        ].join('');
      });
      print(
        `  ${seconds(clock()).padStart(5)}  ${cells.join('')}${String(windowOk).padStart(4)}  ${String(windowFailed).padStart(6)}`,
      );
      window = new Map(backends.map((b) => [b.name, fresh()]));
      windowOk = 0;
      windowFailed = 0;
    };

    // ---- run ----
    traffic = new DemoTraffic(proxyUrl, rate, onResponse);
    traffic.start(clock);
    let wake: () => void = () => {};
    const done = new Promise<void>((resolve) => (wake = resolve));
    const onAbort = (): void => wake();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) wake();
    timers.push(setInterval(row, 1_000));
    timers.push(
      setTimeout(() => {
        killedAt = clock();
        victim.kill();
        event(`✗ ${victim.name} killed: port closed, open connections reset`);
      }, killAtMs),
    );
    timers.push(
      setTimeout(() => {
        restoredAt = clock();
        victim.start().then(
          () => event(`✓ ${victim.name} restarted on the same port`),
          (error: Error) => event(`${victim.name} could not be restarted: ${error.message}`),
        );
      }, restoreAtMs),
    );
    timers.push(setTimeout(wake, durationMs));
    await done;
    signal?.removeEventListener('abort', onAbort);
    for (const timer of timers) clearTimeout(timer);
    const aborted = signal?.aborted === true;
    // A normal end lets requests in flight finish; Ctrl-C does not wait for them.
    await traffic.stop(aborted ? 0 : 5_000);
    const elapsedMs = clock();
    subscription.dispose();

    const summary: DemoSummary = {
      proxyUrl,
      dashboardUrl,
      killed: victim.name,
      requests: traffic.sent,
      successes,
      failures,
      unanswered: traffic.sent - answered,
      failureCauses: causes,
      backends: backends.map((b) => {
        const t = totals.get(b.name)!;
        return {
          name: b.name,
          url: b.url,
          delayMs: b.delayMs,
          requests: t.before + t.down + t.after,
          ...t,
        };
      }),
      elapsedMs,
      killedAtMs: Number.isFinite(killedAt) ? killedAt : null,
      restoredAtMs: Number.isFinite(restoredAt) ? restoredAt : null,
      aborted,
    };
    printSummary(print, summary);
    return summary;
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await traffic?.stop(0);
    await dashboard?.close();
    dashboardServer.close();
    dashboardServer.closeAllConnections();
    await monitor?.stop();
    server.close();
    server.closeAllConnections();
    await proxy?.close({ force: true });
    await pool?.close();
    await check.close();
    for (const backend of backends) backend.close();
  }
}
