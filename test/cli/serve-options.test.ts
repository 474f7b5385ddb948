import { describe, expect, it } from 'vitest';
import {
  buildSelector,
  dnsDiscoveryOptions,
  poolSettings,
  proxyOptions,
  tcpProxyOptions,
} from '../../src/cli/serve/options.js';
import { same } from '../../src/cli/serve/pool-runtime.js';
import { SwitchableSelector } from '../../src/cli/serve/switchable-selector.js';
import { SELECTOR_NAMES } from '../../src/config/index.js';
import {
  LeastConnections,
  Maglev,
  PeakEwma,
  PowerOfTwoChoices,
  Random,
  Rendezvous,
  RingHash,
  RoundRobin,
  WeightedRandom,
  WeightedRoundRobin,
} from '../../src/index.js';

const CLASSES = [
  RoundRobin,
  WeightedRoundRobin,
  Random,
  WeightedRandom,
  LeastConnections,
  PowerOfTwoChoices,
  PeakEwma,
  RingHash,
  Maglev,
  Rendezvous,
];

describe('from the config to the API', () => {
  it('builds every selector by its kebab-case name, with its options', () => {
    SELECTOR_NAMES.forEach((name, i) => {
      expect(buildSelector(name)).toBeInstanceOf(CLASSES[i]!);
      expect(buildSelector({ type: name })).toBeInstanceOf(CLASSES[i]!);
    });
    expect(buildSelector(undefined)).toBeInstanceOf(PowerOfTwoChoices);
    expect(() => buildSelector({ type: 'maglev', tableSize: 7 })).not.toThrow();
  });

  it('maps listener options, dropping what the file left out', () => {
    expect(proxyOptions({ protocol: 'http', listen: '127.0.0.1:1', pool: 'app' })).toEqual({});
    const options = proxyOptions({
      protocol: 'http',
      listen: '127.0.0.1:1',
      pool: 'app',
      retry: { attempts: 2, budget: { ratio: 0.1 } },
      timeouts: { connectMs: 500 },
      affinity: { cookie: { name: 'sy', sameSite: 'Strict' } },
      trustProxy: true,
    });
    expect(options).toEqual({
      retry: { attempts: 2, budget: { ratio: 0.1 } },
      timeouts: { connectMs: 500 },
      affinity: { cookie: { name: 'sy', sameSite: 'Strict' } },
      trustProxy: true,
    });
    expect(
      tcpProxyOptions({
        protocol: 'tcp',
        listen: '127.0.0.1:1',
        pool: 'db',
        proxyProtocol: 'v2',
        attempts: 2,
      }),
    ).toEqual({
      proxyProtocol: 'v2',
      attempts: 2,
    });
    expect(dnsDiscoveryOptions({ name: '_pg._tcp.db', servers: ['127.0.0.1:53'] })).toEqual({
      name: '_pg._tcp.db',
      servers: ['127.0.0.1:53'],
    });
    expect(
      poolSettings({
        endpoints: [],
        outlierDetection: { consecutiveFailures: 3 },
        slowStartMs: 10,
      }),
    ).toEqual({
      outlierDetection: { consecutiveFailures: 3 },
      slowStartMs: 10,
    });
  });

  it('passes trustProxy as written, and reads the affinity secret from the environment', () => {
    const listener = { protocol: 'http' as const, listen: '127.0.0.1:1', pool: 'app' };
    expect(
      proxyOptions({ ...listener, trustProxy: ['10.0.0.0/8', 'loopback'] }).trustProxy,
    ).toEqual(['10.0.0.0/8', 'loopback']);
    expect(proxyOptions({ ...listener, trustProxy: 2 }).trustProxy).toBe(2);
    const sticky = { ...listener, affinity: { cookie: 'sy', secretEnv: 'SY_SECRET' } };
    expect(proxyOptions(sticky, { SY_SECRET: 'sixteen-chars-or-more' }).affinity).toEqual({
      cookie: 'sy',
      secret: 'sixteen-chars-or-more',
    });
    expect(() => proxyOptions(sticky, {})).toThrow(
      'affinity.secretEnv: the environment variable SY_SECRET is not set',
    );
    expect(
      proxyOptions({
        ...listener,
        upgrade: { protocols: ['websocket', 'h2c'] },
        timeouts: { tunnelIdleMs: 0 },
      }),
    ).toEqual({
      upgrade: { protocols: ['websocket', 'h2c'] },
      timeouts: { tunnelIdleMs: 0 },
    });
  });

  it('compares configs as JSON values', () => {
    expect(same({ a: [1, { b: 2 }], c: undefined }, { a: [1, { b: 2 }] })).toBe(true);
    expect(same({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(same('x', { type: 'x' })).toBe(false);
  });
});

describe('SwitchableSelector', () => {
  const endpoints = ['a', 'b', 'c'].map((id) => ({
    id,
    weight: 1,
    inflight: 0,
    latency: 0,
  })) as never[];

  it('forwards picks, and a replacement sees the current eligible set first', () => {
    const selector = new SwitchableSelector(new RoundRobin({ random: () => 0 }) as never);
    selector.update(endpoints);
    expect(
      [selector.pick(), selector.pick(), selector.pick()].map((e) => (e as { id: string }).id),
    ).toEqual(['a', 'b', 'c']);
    const ring = new RingHash();
    selector.replace(ring as never);
    expect(selector.current).toBe(ring);
    const picked = (selector.pick({ key: 'user-1' }) as { id: string }).id;
    expect(picked).toBe((ring.pick({ key: 'user-1' }) as { id: string }).id);
    expect(['a', 'b', 'c']).toContain(picked);
  });
});
