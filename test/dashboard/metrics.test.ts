import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createDashboard, METRIC_FAMILIES, registerMetrics } from '../../src/dashboard/index.js';
import { escapeLabelValue } from '../../src/dashboard/metrics.js';
import { Pool } from '../../src/pool/pool.js';
import { promtool, serve, traffic, world } from './support.js';

/** `name{labels} value` lines of a metric name, as `labels -> value`. */
function samples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('} ');
    out.set(line.slice(name.length + 1, close), Number(line.slice(close + 2)));
  }
  return out;
}

describe('/metrics', () => {
  it('is Prometheus text 0.0.4 that promtool passes without error or lint warning', async () => {
    const { site, proxy, monitor, pool } = await world({ failing: true });
    await monitor.checkNow();
    await traffic(proxy.url, 20);
    pool.disable(pool.endpoints[1]!.id);
    const res = await fetch(`${site.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    const checked = await promtool(text);
    expect(checked).toEqual({ code: 0, output: '' });
    // One HELP and one TYPE per family, in the documented order.
    const types = text.split('\n').filter((l) => l.startsWith('# TYPE '));
    expect(types).toEqual(METRIC_FAMILIES.map(([name, type]) => `# TYPE ${name} ${type}`));
    expect(text.split('\n').filter((l) => l.startsWith('# HELP '))).toHaveLength(
      METRIC_FAMILIES.length,
    );
  });

  it('carries the figures of the pools, with SPEC §7 names and labels', async () => {
    const { site, proxy, monitor, pool } = await world();
    await monitor.checkNow();
    await traffic(proxy.url, 9);
    const [a, b] = pool.endpoints.map((e) => e.id) as [string, string];
    pool.disable(b);
    const text = await (await fetch(`${site.url}/metrics`)).text();
    const requests = samples(text, 'switchyard_requests_total');
    expect(requests.get(`pool="app",endpoint="${a}",outcome="success"`)).toBe(3);
    expect(requests.get(`pool="app",endpoint="${a}",outcome="failure"`)).toBe(0);
    const states = samples(text, 'switchyard_endpoint_state');
    for (const state of ['healthy', 'unhealthy', 'ejected', 'draining', 'disabled']) {
      expect(states.get(`pool="app",endpoint="${b}",state="${state}"`)).toBe(
        state === 'disabled' ? 1 : 0,
      );
    }
    expect(samples(text, 'switchyard_endpoint_weight').get(`pool="app",endpoint="${a}"`)).toBe(1);
    expect(samples(text, 'switchyard_inflight_requests').get(`pool="app",endpoint="${a}"`)).toBe(0);
    expect(samples(text, 'switchyard_ejections_total').get(`pool="app",endpoint="${a}"`)).toBe(0);
    expect(samples(text, 'switchyard_retries_total').get(`pool="app",endpoint="${a}"`)).toBe(0);
    const checks = samples(text, 'switchyard_health_checks_total');
    expect(checks.get(`pool="app",endpoint="${a}",result="success"`)).toBe(1);
    expect(checks.get(`pool="app",endpoint="${a}",result="failure"`)).toBe(0);
    const buckets = samples(text, 'switchyard_request_duration_seconds_bucket');
    expect(buckets.get(`pool="app",endpoint="${a}",le="+Inf"`)).toBe(3);
    expect(buckets.get(`pool="app",endpoint="${a}",le="0.001"`)).toBeLessThanOrEqual(3);
    expect(
      samples(text, 'switchyard_request_duration_seconds_count').get(`pool="app",endpoint="${a}"`),
    ).toBe(3);
    const sum = samples(text, 'switchyard_request_duration_seconds_sum').get(
      `pool="app",endpoint="${a}"`,
    )!;
    expect(sum).toBeGreaterThan(0.003); // three answers of at least 2 ms, in seconds
    expect(sum).toBeLessThan(3);
    // Bucket bounds are seconds, ascending, cumulative.
    const les = [...buckets.keys()]
      .filter((k) => k.includes(`endpoint="${a}"`))
      .map((k) => /le="([^"]+)"/.exec(k)![1]!);
    expect(les).toEqual([
      '0.001',
      '0.0025',
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
      '30',
      '60',
      '+Inf',
    ]);
  });

  it('escapes hostile pool names and endpoint ids, and promtool still passes', async () => {
    const id = 'a\\b"c\nd}{=,é 😀';
    const pool = new Pool({ endpoints: [{ id, url: 'http://127.0.0.1:9' }] });
    pool.acquire().release({ ok: false });
    const dashboard = createDashboard({ pools: { 'po"ol\\\n': pool } });
    const site = await serve(dashboard);
    const text = await (await fetch(`${site.url}/metrics`)).text();
    expect(text).toContain(
      'switchyard_requests_total{pool="po\\"ol\\\\\\n",endpoint="a\\\\b\\"c\\nd}{=,é 😀",outcome="failure"} 1',
    );
    expect(await promtool(text)).toEqual({ code: 0, output: '' });
    await dashboard.close();
    expect(escapeLabelValue('\\"\n')).toBe('\\\\\\"\\n');
  });

  it('lists every family even for empty pools, and promtool passes', async () => {
    const dashboard = createDashboard({ pool: new Pool() });
    const site = await serve(dashboard);
    const text = await (await fetch(`${site.url}/metrics`)).text();
    expect(text.split('\n').filter((l) => l.startsWith('# TYPE'))).toHaveLength(8);
    expect(await promtool(text)).toEqual({ code: 0, output: '' });
    await dashboard.close();
  });
});

describe('registerMetrics (prom-client)', () => {
  it('registers the same figures into a prom-client registry, collected on scrape', async () => {
    const { site, proxy, monitor, pool } = await world();
    await monitor.checkNow();
    await traffic(proxy.url, 6);
    const registry = new Registry();
    const registration = registerMetrics(registry, { pools: { app: pool }, monitors: [monitor] });
    const ours = await (await fetch(`${site.url}/metrics`)).text();
    const theirs = await registry.metrics();
    expect(await promtool(theirs)).toEqual({ code: 0, output: '' });
    for (const name of [
      'switchyard_requests_total',
      'switchyard_request_duration_seconds_bucket',
      'switchyard_request_duration_seconds_sum',
      'switchyard_request_duration_seconds_count',
      'switchyard_inflight_requests',
      'switchyard_endpoint_state',
      'switchyard_endpoint_weight',
      'switchyard_ejections_total',
      'switchyard_retries_total',
      'switchyard_health_checks_total',
    ]) {
      expect(samples(theirs, name), name).toEqual(samples(ours, name));
    }
    // Collected on scrape: later traffic shows without doing anything.
    await traffic(proxy.url, 3);
    const later = samples(await registry.metrics(), 'switchyard_requests_total');
    const total = [...later.values()].reduce((x, y) => x + y, 0);
    expect(total).toBe(9);
    // Registering twice is prom-client's error; disposing removes them all.
    expect(() => registerMetrics(registry, { pool })).toThrow(/already been registered/);
    registration.dispose();
    registration.dispose();
    expect(await registry.metrics()).toBe('\n');
    registerMetrics(registry, { pool }).dispose();
  });

  it('rejects what is not a registry, and bad pools', () => {
    const pool = new Pool();
    expect(() => registerMetrics({} as never, { pool })).toThrow(/prom-client Registry/);
    expect(() => registerMetrics(new Registry(), {} as never)).toThrow(/pools and pool/);
  });
});
