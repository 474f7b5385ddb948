import type { Disposable } from '../events.js';
import { quote } from '../validate.js';
import { collectMetrics, METRIC_FAMILIES, type MetricFamily } from './metrics.js';
import { type DashboardMonitor, type DashboardPool, resolveDashboardOptions } from './options.js';

/**
 * What {@link registerMetrics} needs of a `prom-client` `Registry`: `registerMetric` and
 * `removeSingleMetric`. The dashboard never imports `prom-client` itself.
 */
export interface MetricsRegistry {
  /** Adds a metric; prom-client calls its `get()` on every scrape. */
  registerMetric(metric: never): void;
  /** Removes a metric by name. */
  removeSingleMetric(name: string): void;
}

/** Options of {@link registerMetrics}. */
export interface RegisterMetricsOptions {
  /** The pools, by name (the `pool` label). Give `pools` or `pool`. @default undefined */
  readonly pools?: Readonly<Record<string, DashboardPool>>;
  /** One pool, labelled `pool="default"`. @default undefined */
  readonly pool?: DashboardPool;
  /** Health monitors of those pools, for `switchyard_health_checks_total`. @default [] */
  readonly monitors?: readonly DashboardMonitor[];
}

interface PromValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/**
 * Registers the dashboard's metrics (the same names, labels and values as its `/metrics`)
 * into an existing `prom-client` registry, for a service that already exposes one. They
 * are collected on each scrape from the pools themselves: nothing is recorded twice, no
 * timer runs. prom-client stays an optional peer dependency: pass your own registry (its
 * `register` or a `new Registry()`).
 * @returns a disposable that removes the metrics from the registry.
 * @throws TypeError for a registry without `registerMetric`, or bad pools or monitors (as
 *   {@link createDashboard}); prom-client's own Error when a metric of the same name is
 *   already registered.
 * @example
 * ```ts
 * import { register } from 'prom-client';
 * import { registerMetrics } from 'switchyard/dashboard';
 *
 * registerMetrics(register, { pools: { app: pool } });
 * // …and the service's own /metrics route serves await register.metrics()
 * ```
 */
export function registerMetrics(
  registry: MetricsRegistry,
  options: RegisterMetricsOptions,
): Disposable {
  const r = registry as Partial<MetricsRegistry> | null;
  if (
    typeof r !== 'object' ||
    r === null ||
    typeof r.registerMetric !== 'function' ||
    typeof r.removeSingleMetric !== 'function'
  ) {
    throw new TypeError(`registry must be a prom-client Registry, got ${quote(registry)}`);
  }
  const o = resolveDashboardOptions(options as never);
  // One collection serves every family of a scrape: prom-client calls every metric's
  // get() in one synchronous loop, so what is collected is forgotten at the next microtask.
  let cached: MetricFamily[] | undefined;
  const families = (): MetricFamily[] => {
    if (cached === undefined) {
      cached = collectMetrics(o.pools, o.monitors);
      queueMicrotask(() => {
        cached = undefined;
      });
    }
    return cached;
  };
  const registered: string[] = [];
  try {
    METRIC_FAMILIES.forEach(([name, type, help], i) => {
      const metric = {
        name,
        help,
        type,
        aggregator: type === 'gauge' && name !== 'switchyard_inflight_requests' ? 'first' : 'sum',
        get: async () => ({
          name,
          help,
          type,
          aggregator: metric.aggregator,
          values: toValues(families()[i]!),
        }),
      };
      registry.registerMetric(metric as never);
      registered.push(name);
    });
  } catch (error) {
    for (const name of registered) registry.removeSingleMetric(name);
    throw error;
  }
  let disposed = false;
  const dispose = (): void => {
    if (disposed) return;
    disposed = true;
    for (const name of registered) registry.removeSingleMetric(name);
  };
  return { dispose, [Symbol.dispose]: dispose };
}

function toValues(family: MetricFamily): PromValue[] {
  if (family.type !== 'histogram') {
    return family.samples.map((s) => ({ labels: { ...s.labels }, value: s.value }));
  }
  const values: PromValue[] = [];
  for (const s of family.samples) {
    for (const [le, count] of s.buckets) {
      values.push({
        labels: { ...s.labels, le },
        value: count,
        metricName: `${family.name}_bucket`,
      });
    }
    values.push({
      labels: { ...s.labels, le: '+Inf' },
      value: s.count,
      metricName: `${family.name}_bucket`,
    });
    values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${family.name}_sum` });
    values.push({ labels: { ...s.labels }, value: s.count, metricName: `${family.name}_count` });
  }
  return values;
}
