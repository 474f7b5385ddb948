/**
 * Cost at rest of health-checking 10 000 endpoints: timers alive, memory and CPU over a
 * 10 s window, with a check that answers at once (`Promise.resolve()`), so what is measured
 * is the monitor itself. For scale, the same work done the obvious way — one unref'd
 * `setTimeout` per endpoint — is measured in the same run.
 *
 * Settings: 10 000 endpoints, intervalMs 5000, jitter 0.1, timeoutMs 2000, concurrency 64,
 * thresholds 2/3; 6 s of warm-up (every endpoint checked at least once), then 10 s measured;
 * the designs run in interleaved rounds (ROUNDS, default 2) and each figure is the median.
 *
 * Run: npm run build && npm run bench:health   (imports the built package)
 */
import os from 'node:os';
import * as sy from '../dist/index.js';

const ENDPOINTS = Number(process.env.ENDPOINTS ?? 10_000);
const WINDOW_MS = Number(process.env.WINDOW_MS ?? 10_000);
const WARMUP_MS = Number(process.env.WARMUP_MS ?? 6_000);
const INTERVAL_MS = 5_000;
const JITTER = 0.1;
const ROUNDS = Number(process.env.ROUNDS ?? 2);

const gc = (globalThis as { gc?: () => void }).gc;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function urls(): string[] {
  const list: string[] = [];
  for (let i = 0; i < ENDPOINTS; i++) {
    list.push(`http://127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:80`);
  }
  return list;
}

function memory(): { heap: number; rss: number } {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

/** Timers around the real ones that count the live ones and the firings. */
function countingTimers() {
  const live = new Set<unknown>();
  const stats = { fired: 0, maxLive: 0, live: () => live.size };
  const timers: sy.TimerApi = {
    setTimeout(callback, ms) {
      const handle = setTimeout(() => {
        live.delete(handle);
        stats.fired++;
        callback();
      }, ms);
      live.add(handle);
      stats.maxLive = Math.max(stats.maxLive, live.size);
      return handle;
    },
    clearTimeout(handle) {
      live.delete(handle);
      clearTimeout(handle as ReturnType<typeof setTimeout>);
    },
  };
  return { timers, stats };
}

interface Row {
  readonly design: string;
  readonly timers: string;
  readonly refTimers: number;
  readonly heapMiB: number;
  readonly rssMiB: number;
  readonly bytesPerEndpoint: number;
  readonly checksPerS: number;
  readonly wakeupsPerS: number;
  readonly cpuPct: number;
  readonly usPerCheck: number;
}

async function measure(
  design: string,
  run: (onCheck: () => void) => { stop(): Promise<void>; timers(): string; wakeups(): number },
): Promise<Row> {
  await sleep(200);
  const before = memory();
  let checks = 0;
  const handle = run(() => checks++);
  await sleep(WARMUP_MS);
  const checks0 = checks;
  const wake0 = handle.wakeups();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(WINDOW_MS);
  const cpu = process.cpuUsage(cpu0);
  const elapsed = performance.now() - t0;
  const done = checks - checks0;
  const wakeups = handle.wakeups() - wake0;
  const timers = handle.timers();
  const refTimers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const after = memory();
  await handle.stop();
  const cpuUs = cpu.user + cpu.system;
  return {
    design,
    timers,
    refTimers,
    heapMiB: (after.heap - before.heap) / 2 ** 20,
    rssMiB: (after.rss - before.rss) / 2 ** 20,
    bytesPerEndpoint: (after.heap - before.heap) / ENDPOINTS,
    checksPerS: (done * 1000) / elapsed,
    wakeupsPerS: (wakeups * 1000) / elapsed,
    cpuPct: (cpuUs / 1000 / elapsed) * 100,
    usPerCheck: done > 0 ? cpuUs / done : 0,
  };
}

type Design = Parameters<typeof measure>;

const list = urls();
const pool = new sy.Pool({ endpoints: list });
const check = () => Promise.resolve();

const designs: Design[] = [
  [
    'nothing running (baseline)',
    () => ({ stop: async () => {}, timers: () => '0', wakeups: () => 0 }),
  ],
  [
    'HealthMonitor (one heap, one timer)',
    (onCheck) => {
      const { timers, stats } = countingTimers();
      const monitor = new sy.HealthMonitor(pool, {
        check,
        intervalMs: INTERVAL_MS,
        jitter: JITTER,
        timers,
      });
      monitor.onCheck(onCheck);
      monitor.start();
      return {
        stop: () => monitor.stop(),
        timers: () => `${stats.live()} (max ${stats.maxLive})`,
        wakeups: () => stats.fired,
      };
    },
  ],
  [
    "one unref'd setTimeout per endpoint",
    (onCheck) => {
      let stopped = false;
      let fired = 0;
      const handles = new Set<ReturnType<typeof setTimeout>>();
      const schedule = (delay: number) => {
        const handle = setTimeout(async () => {
          handles.delete(handle);
          fired++;
          if (stopped) return;
          await check();
          onCheck();
          schedule(INTERVAL_MS * (1 + JITTER * (2 * Math.random() - 1)));
        }, delay);
        handle.unref();
        handles.add(handle);
      };
      for (let i = 0; i < list.length; i++) schedule(Math.random() * JITTER * INTERVAL_MS);
      return {
        stop: async () => {
          stopped = true;
          for (const handle of handles) clearTimeout(handle);
        },
        timers: () => String(handles.size),
        wakeups: () => fired,
      };
    },
  ],
];

// Interleaved rounds (A B C A B C …); each figure is the median over the rounds.
const results = new Map<string, Row[]>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of designs) {
    const row = await measure(name, run);
    results.set(name, [...(results.get(name) ?? []), row]);
  }
}
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const rows: Row[] = [...results.values()].map((runs) => {
  const pick = (key: keyof Row) => median(runs.map((r) => r[key] as number));
  return {
    ...runs.at(-1)!,
    heapMiB: pick('heapMiB'),
    rssMiB: pick('rssMiB'),
    bytesPerEndpoint: pick('bytesPerEndpoint'),
    checksPerS: pick('checksPerS'),
    wakeupsPerS: pick('wakeupsPerS'),
    cpuPct: pick('cpuPct'),
    usPerCheck: pick('usPerCheck'),
  };
});

await pool.close();

console.log(
  `\nHealth checking at rest — ${ENDPOINTS} endpoints, intervalMs ${INTERVAL_MS}, jitter ${JITTER}, ` +
    `check = Promise.resolve(); ${WARMUP_MS / 1000} s warm-up, ${WINDOW_MS / 1000} s measured, ` +
    `median of ${ROUNDS} interleaved rounds`,
);
console.log(
  `Node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}` +
    (gc ? '' : '  (run with --expose-gc for steadier memory figures)'),
);
console.log(
  "\n| design | timers alive | ref'd timers | heap Δ | RSS Δ | heap / endpoint | checks/s | timer firings/s | CPU (one core) | CPU / check |",
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.design} | ${r.timers} | ${r.refTimers} | ${r.heapMiB.toFixed(2)} MiB | ${r.rssMiB.toFixed(1)} MiB | ${Math.round(r.bytesPerEndpoint)} B | ${Math.round(r.checksPerS)} | ${Math.round(r.wakeupsPerS)} | ${r.cpuPct.toFixed(2)} % | ${r.usPerCheck.toFixed(1)} µs |`,
  );
}
