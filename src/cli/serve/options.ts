/**
 * From the config file to the API's options: selectors, health checks, pool options and
 * proxy options. Pure functions, run once per (re)load, never per request.
 * @internal
 */
import { BlockList, isIPv6 } from 'node:net';
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
  } = config;
  const monitor = defined({
    intervalMs,
    unhealthyIntervalMs,
    timeoutMs,
    jitter,
    healthyThreshold,
    unhealthyThreshold,
    concurrency,
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

/** The proxy options of an HTTP listener. */
export function proxyOptions(config: HttpListenerConfig): ProxyOptions {
  const {
    retry,
    timeouts,
    affinity,
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
    affinity:
      affinity === undefined
        ? undefined
        : 'by' in affinity
          ? affinity
          : {
              cookie:
                typeof affinity.cookie === 'string' ? affinity.cookie : defined(affinity.cookie),
            },
    trustProxy: Array.isArray(trustProxy) ? trustedAddresses(trustProxy) : trustProxy,
    changeOrigin,
    xForwarded,
    forwarded,
    connections,
    keepAliveTimeoutMs,
  });
}

/** `trustProxy` as a list of addresses and CIDR blocks: a `BlockList` match on the peer. */
export function trustedAddresses(list: readonly string[]): (address: string) => boolean {
  const blocks = new BlockList();
  for (const entry of list) {
    const [address = '', bits] = entry.split('/');
    const type = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (bits === undefined) blocks.addAddress(address, type);
    else blocks.addSubnet(address, Number(bits), type);
  }
  return (address: string) => {
    // IPv4-mapped IPv6 peers (::ffff:10.0.0.1) are matched as the IPv4 address they are.
    const plain =
      address.startsWith('::ffff:') && !address.slice(7).includes(':') ? address.slice(7) : address;
    return blocks.check(plain, isIPv6(plain) ? 'ipv6' : 'ipv4');
  };
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
