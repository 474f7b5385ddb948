import { expect, it } from 'vitest';
import { AggregatePool } from '../../src/cli/serve/aggregate-pool.js';
import type { PoolReport } from '../../src/cli/serve/worker-messages.js';
import { Pool, RoundRobin } from '../../src/index.js';

// What the primary of `serve --workers` shows: its own pool's facts (health, operators)
// with the figures of every worker's pool added up. Two real worker pools, each with its
// own clock origin, fed by hand.

const A = 'http://127.0.0.1:9001';
const B = 'http://127.0.0.1:9002';

function workerPool(now: () => number): Pool {
  return new Pool({
    endpoints: [A, B],
    selector: new RoundRobin({ random: () => 0 }),
    outlierDetection: { consecutiveFailures: 2, maxEjectionPercent: 100 },
    now,
  });
}

function report(pool: Pool): PoolReport {
  const snapshot = pool.snapshot();
  const histograms: Record<string, PoolReport['histograms'][string]> = {};
  for (const e of snapshot.endpoints) {
    const h = pool.latencyHistogram(e.id)!;
    histograms[e.id] = { counts: h.counts, sumMs: h.sumMs, count: h.count };
  }
  // As it crosses the IPC channel: plain JSON.
  return JSON.parse(JSON.stringify({ snapshot, histograms }));
}

function serve(pool: Pool, id: string, n: number, latencyMs: number, ok = true): void {
  for (let i = 0; i < n; i++) {
    const lease = pool.acquire({ key: id, exclude: new Set([id === A ? B : A]) });
    expect(lease.endpoint.id).toBe(id);
    lease.release(ok ? { ok, latencyMs } : { ok, latencyMs, error: new Error('boom') });
  }
}

it('adds the workers up on top of the primary’s states', () => {
  let t1 = 1_000;
  let t2 = 50_000; // another process, another clock origin
  const w1 = workerPool(() => t1);
  const w2 = workerPool(() => t2);
  serve(w1, A, 30, 4);
  serve(w1, B, 10, 20);
  serve(w2, A, 12, 8);
  // Worker 2's outlier detection ejects B; worker 1 still serves it.
  serve(w2, B, 2, 1, false);
  expect(w2.get(B)!.state).toBe('ejected');
  t1 += 2_000;
  t2 += 2_000;
  const inflight = w1.acquire({ key: A, exclude: new Set([B]) });

  const primary = new Pool({ endpoints: [A, B], outlierDetection: false });
  const reports = new Map([
    [1, report(w1)],
    [2, report(w2)],
  ]);
  let syncs = 0;
  const view = new AggregatePool('app', primary, {
    reportsOf: (name) => (name === 'app' ? reports : new Map()),
    sync: () => void syncs++,
  });

  const snap = view.snapshot();
  const [a, b] = snap.endpoints;
  expect(a!.requests).toBe(30 + 12 + 1);
  expect(a!.successes).toBe(42);
  expect(a!.inflight).toBe(1);
  expect(b!.requests).toBe(12);
  expect(b!.failures).toBe(2);
  expect(snap.totals.requests).toBe(55);
  expect(snap.totals.failures).toBe(2);
  expect(snap.totals.inflight).toBe(1);
  expect(snap.totals.ejections).toBe(1);
  // Ejected in one worker: shown ejected, still eligible (worker 1 sends to it), with the
  // ejection's end moved onto the primary's clock.
  expect(b!.state).toBe('ejected');
  expect(b!.eligible).toBe(true);
  const w2b = w2.snapshot().endpoints[1]!;
  const shift = primary.snapshot().at - w2.snapshot().at;
  expect(b!.ejectedUntil).toBeCloseTo(w2b.ejectedUntil! + shift, -2);
  expect(snap.totals.ejected).toBe(1);
  expect(snap.totals.healthy).toBe(1);
  // The percentiles lie between the workers' own.
  const p50s = [w1, w2].map((w) => w.snapshot().endpoints[0]!.latencyMs.p50!);
  expect(a!.latencyMs.p50!).toBeGreaterThanOrEqual(Math.min(...p50s));
  expect(a!.latencyMs.p50!).toBeLessThanOrEqual(Math.max(...p50s));

  // Prometheus' histogram is the exact sum.
  const h = view.latencyHistogram(A)!;
  const h1 = w1.latencyHistogram(A)!;
  const h2 = w2.latencyHistogram(A)!;
  expect(h.count).toBe(h1.count + h2.count);
  expect(h.sumMs).toBeCloseTo(h1.sumMs + h2.sumMs, 6);
  expect(h.counts).toEqual(h1.counts.map((c, i) => c + h2.counts[i]!));
  expect(view.latencyHistogram('http://127.0.0.1:9999')).toBeUndefined();

  // The primary's own facts win: a failed health check, an operator's disable.
  primary.setHealth(A, false, 'health-check');
  expect(view.snapshot().endpoints[0]!.state).toBe('unhealthy');
  expect(view.disable(B)).toBe(true);
  expect(primary.get(B)!.state).toBe('disabled');
  expect(view.snapshot().endpoints[1]!.state).toBe('disabled');
  expect(syncs).toBe(1);
  expect(view.enable('http://127.0.0.1:9999')).toBe(false);
  expect(syncs).toBe(1);

  inflight.release({ ok: true, latencyMs: 1 });
  void w1.close();
  void w2.close();
  void primary.close();
});

it('shows the primary’s pool alone before any worker reported', () => {
  const primary = new Pool({ endpoints: [A], outlierDetection: false });
  const view = new AggregatePool('app', primary, { reportsOf: () => new Map(), sync: () => {} });
  const snap = view.snapshot();
  expect(snap.totals.requests).toBe(0);
  expect(snap.endpoints[0]!.state).toBe('healthy');
  expect(view.latencyHistogram(A)!.count).toBe(0);
  void primary.close();
});

it('tells the dashboard of a worker’s ejection, and stops when disposed', () => {
  const primary = new Pool({ endpoints: [A], outlierDetection: false });
  const view = new AggregatePool('app', primary, { reportsOf: () => new Map(), sync: () => {} });
  const reasons: string[] = [];
  const subscription = view.onStateChange((event) => reasons.push(event.reason));
  view.workerStateChange(2, A, 'healthy', 'ejected', 'consecutive-failures');
  view.workerStateChange(2, 'http://127.0.0.1:9999', 'healthy', 'ejected', 'x'); // gone: ignored
  primary.disable(A);
  subscription.dispose();
  view.workerStateChange(1, A, 'ejected', 'healthy', 'ejection-expired');
  expect(reasons).toEqual(['consecutive-failures (worker 2)', 'disable']);
  void primary.close();
});
