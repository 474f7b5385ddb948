import type { EndpointState } from '../pool/types.js';
import type { DashboardMonitor, DashboardPool } from './options.js';
import { healthOf } from './snapshot.js';

/** Every endpoint state, in the order `switchyard_endpoint_state` lists them. */
const STATES: readonly EndpointState[] = [
  'healthy',
  'unhealthy',
  'ejected',
  'draining',
  'disabled',
];

/** One sample of a counter or gauge. @internal */
export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One histogram series: cumulative bucket counts by `le` (seconds), sum and count. @internal */
export interface HistogramSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly buckets: ReadonlyArray<readonly [le: number, count: number]>;
  readonly sum: number;
  readonly count: number;
}

/** One metric family, what both the text exposition and prom-client are built from. @internal */
export type MetricFamily =
  | {
      readonly name: string;
      readonly help: string;
      readonly type: 'counter' | 'gauge';
      readonly samples: readonly Sample[];
    }
  | {
      readonly name: string;
      readonly help: string;
      readonly type: 'histogram';
      readonly samples: readonly HistogramSample[];
    };

/** Name, type and help of every family, in the order they are written. @internal */
export const METRIC_FAMILIES = [
  ['switchyard_requests_total', 'counter', 'Completed requests (released leases) by outcome.'],
  [
    'switchyard_request_duration_seconds',
    'histogram',
    'Request latency as the pool measured it (time to response headers for the HTTP proxy).',
  ],
  ['switchyard_inflight_requests', 'gauge', 'Requests in progress.'],
  [
    'switchyard_endpoint_state',
    'gauge',
    'Endpoint state: 1 for the current state, 0 for the others.',
  ],
  ['switchyard_endpoint_weight', 'gauge', 'Effective endpoint weight (slow start included).'],
  ['switchyard_ejections_total', 'counter', 'Ejections by outlier detection or Retry-After.'],
  ['switchyard_retries_total', 'counter', 'Requests sent to this endpoint as a retry.'],
  ['switchyard_health_checks_total', 'counter', 'Active health checks by result.'],
] as const;

/**
 * Reads the figures of every pool (one `pool.snapshot()` each) into metric families. The
 * `pool` label is the pool's name, `endpoint` the endpoint's id.
 * @internal
 */
export function collectMetrics(
  pools: ReadonlyMap<string, DashboardPool>,
  monitors: ReadonlyMap<string, readonly DashboardMonitor[]>,
): MetricFamily[] {
  const requests: Sample[] = [];
  const durations: HistogramSample[] = [];
  const inflight: Sample[] = [];
  const states: Sample[] = [];
  const weights: Sample[] = [];
  const ejections: Sample[] = [];
  const retries: Sample[] = [];
  const checks: Sample[] = [];
  for (const [pool, source] of pools) {
    const checkers = monitors.get(pool);
    for (const e of source.snapshot().endpoints) {
      const labels = { pool, endpoint: e.id };
      requests.push({ labels: { ...labels, outcome: 'success' }, value: e.successes });
      requests.push({ labels: { ...labels, outcome: 'failure' }, value: e.failures });
      const h = source.latencyHistogram(e.id);
      if (h !== undefined) {
        durations.push({
          labels,
          buckets: h.boundsMs.map((ms, i) => [ms / 1000, h.counts[i]!] as const),
          sum: h.sumMs / 1000,
          count: h.count,
        });
      }
      inflight.push({ labels, value: e.inflight });
      for (const state of STATES) {
        states.push({ labels: { ...labels, state }, value: e.state === state ? 1 : 0 });
      }
      weights.push({ labels, value: e.weight });
      ejections.push({ labels, value: e.ejections });
      retries.push({ labels, value: e.retries });
      if (checkers !== undefined) {
        const health = healthOf(checkers, e.id);
        checks.push({ labels: { ...labels, result: 'success' }, value: health?.passed ?? 0 });
        checks.push({ labels: { ...labels, result: 'failure' }, value: health?.failed ?? 0 });
      }
    }
  }
  const samples = [requests, durations, inflight, states, weights, ejections, retries, checks];
  return METRIC_FAMILIES.map(
    ([name, type, help], i) => ({ name, type, help, samples: samples[i]! }) as MetricFamily,
  );
}

/**
 * The Prometheus text exposition format 0.0.4 of `families`: one `# HELP` and `# TYPE` per
 * family, label values escaped (`\\`, `"`, newline).
 * @internal
 */
export function renderPrometheus(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    if (family.type === 'histogram') {
      for (const s of family.samples) {
        const labels = renderLabels(s.labels);
        for (const [le, count] of s.buckets) {
          lines.push(`${family.name}_bucket{${labels},le="${formatValue(le)}"} ${count}`);
        }
        lines.push(`${family.name}_bucket{${labels},le="+Inf"} ${s.count}`);
        lines.push(`${family.name}_sum{${labels}} ${formatValue(s.sum)}`);
        lines.push(`${family.name}_count{${labels}} ${s.count}`);
      }
    } else {
      for (const s of family.samples) {
        lines.push(`${family.name}{${renderLabels(s.labels)}} ${formatValue(s.value)}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

function renderLabels(labels: Readonly<Record<string, string>>): string {
  let out = '';
  for (const key in labels) {
    if (out !== '') out += ',';
    out += `${key}="${escapeLabelValue(labels[key]!)}"`;
  }
  return out;
}

/** Escapes a label value: backslash, double quote and line feed. @internal */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'));
}

function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === '\\' ? '\\\\' : '\\n'));
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}
