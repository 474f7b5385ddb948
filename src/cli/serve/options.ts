/**
 * From the config file to the API's options: selectors, health checks, pool options and
 * proxy options. Pure functions, run once per (re)load, never per request.
 * @internal
 */
import type {
  DnsDiscoveryConfig,
  HealthCheckConfig,
  HttpListenerConfig,
  PoolConfig,
  SelectorConfig,
  TcpListenerConfig,
} from '../../config/index.js';
import type { DnsDiscoveryOptions } from '../../discovery/index.js';
import type { HealthCheck } from '../../health/index.js';
import { httpCheck, type ProxyOptions } from '../../http/index.js';
import {
  type HealthMonitorOptions,
  LeastConnections,
  Maglev,
  PeakEwma,
  type PoolEndpoint,
  type PoolOptions,
  PowerOfTwoChoices,
  Random,
  Rendezvous,
  RingHash,
  RoundRobin,
  type Selector,
  WeightedRandom,
  WeightedRoundRobin,
} from '../../index.js';
import { tcpCheck } from '../../tcp/index.js';

/** Drops `undefined` values, for options read with `exactOptionalPropertyTypes`. */
export function defined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (v !== undefined) out[key] = v;
  return out as { [K in keyof T]: Exclude<T[K], undefined> };
}

/** A new selector for `config` (default: power of two choices, as `Pool`'s). */
export function buildSelector(config: SelectorConfig | undefined): Selector<PoolEndpoint> {
  const { type, ...options } =
    typeof config === 'string'
      ? { type: config }
      : (config ?? { type: 'power-of-two-choices' as const });
  switch (type) {
    case 'round-robin':
      return new RoundRobin();
    case 'weighted-round-robin':
      return new WeightedRoundRobin();
    case 'random':
      return new Random();
    case 'weighted-random':
      return new WeightedRandom();
    case 'least-connections':
      return new LeastConnections();
    case 'power-of-two-choices':
      return new PowerOfTwoChoices();
    case 'peak-ewma':
      return new PeakEwma();
    case 'ring-hash':
      return new RingHash(defined(options));
    case 'maglev':
      return new Maglev(defined(options));
    case 'rendezvous':
      return new Rendezvous(defined(options));
  }
}

/** The check function and its `close()` (an `httpCheck` holds a connection agent). */
export interface BuiltCheck {
  readonly check: HealthCheck;
  readonly monitor: Omit<HealthMonitorOptions, 'check'>;
  close(): Promise<void>;
}

/** The health check and the monitor's options of a pool's `healthCheck`. */
export function buildHealthCheck(config: HealthCheckConfig): BuiltCheck {
  const {
    intervalMs,
    unhealthyIntervalMs,
    timeoutMs,
    jitter,
    healthyThreshold,
    unhealthyThreshold,
    concurrency,
    unejectOnPass,
  } = config;
  const monitor = defined({
    intervalMs,
    unhealthyIntervalMs,
    timeoutMs,
    jitter,
    healthyThreshold,
    unhealthyThreshold,
    concurrency,
    unejectOnPass,
  });
  if (config.type === 'tcp') {
    const { port, send, expect, maxBytes } = config;
    return {
      check: tcpCheck(defined({ port, send, expect, maxBytes })),
      monitor,
      close: async () => {},
    };
  }
  const { method, path, expectStatus, expectBody, maxBodyBytes, headers, host, reuseConnections } =
    config;
  const check = httpCheck(
    defined({
      method,
      path,
      expectStatus,
      expectBody,
      maxBodyBytes,
      headers,
      host,
      reuseConnections,
    }),
  );
  return { check, monitor, close: () => check.close() };
}

/** The `Pool` options of a pool, without its endpoints and selector. */
export function poolSettings(config: PoolConfig): Omit<PoolOptions, 'endpoints' | 'selector'> {
  const { outlierDetection, slowStartMs, panicThreshold, maxRetryAfterMs, latencyDecayMs } = config;
  return defined({
    outlierDetection:
      typeof outlierDetection === 'object' ? defined(outlierDetection) : outlierDetection,
    slowStartMs,
    panicThreshold,
    maxRetryAfterMs,
    latencyDecayMs,
  });
}

/** Where secrets are read: `process.env`, or a stand-in. */
export type SecretSource = Readonly<Record<string, string | undefined>>;

/**
 * The proxy options of an HTTP listener; `affinity.secretEnv` is read from `env`.
 * @throws Error naming the variable when `secretEnv` names one that is not set.
 */
export function proxyOptions(
  config: HttpListenerConfig,
  env: SecretSource = process.env,
): ProxyOptions {
  const {
    retry,
    timeouts,
    affinity,
    upgrade,
    trustProxy,
    changeOrigin,
    xForwarded,
    forwarded,
    connections,
    keepAliveTimeoutMs,
  } = config;
  return defined({
    retry:
      retry === undefined
        ? undefined
        : defined({
            ...retry,
            budget: typeof retry.budget === 'object' ? defined(retry.budget) : retry.budget,
          }),
    timeouts: timeouts === undefined ? undefined : defined(timeouts),
    affinity: affinity === undefined ? undefined : affinityOptions(affinity, env),
    upgrade: upgrade === undefined ? undefined : defined(upgrade),
    trustProxy,
    changeOrigin,
    xForwarded,
    forwarded,
    connections,
    keepAliveTimeoutMs,
  });
}

function affinityOptions(
  affinity: NonNullable<HttpListenerConfig['affinity']>,
  env: SecretSource,
): ProxyOptions['affinity'] {
  if ('by' in affinity) return affinity;
  const cookie = typeof affinity.cookie === 'string' ? affinity.cookie : defined(affinity.cookie);
  if (affinity.secretEnv === undefined) return { cookie };
  const secret = env[affinity.secretEnv];
  if (!secret) {
    throw new Error(
      `affinity.secretEnv: the environment variable ${affinity.secretEnv} is not set`,
    );
  }
  return { cookie, secret };
}

/**
 * The `createTcpProxy` options of a TCP listener (SPEC §6 names): what `createTcpListener`
 * passes once `switchyard/tcp` has the proxy.
 */
export function tcpProxyOptions(config: TcpListenerConfig): Record<string, unknown> {
  const { proxyProtocol, connectTimeoutMs, idleTimeoutMs, attempts, affinity } = config;
  return defined({ proxyProtocol, connectTimeoutMs, idleTimeoutMs, attempts, affinity });
}

/** The `DnsDiscovery` options of a pool's `discovery.dns`. */
export function dnsDiscoveryOptions(config: DnsDiscoveryConfig): DnsDiscoveryOptions {
  return defined(config) as DnsDiscoveryOptions;
}
