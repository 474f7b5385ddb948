import { describe, expect, it } from 'vitest';
import {
  configSchema,
  formatListenAddress,
  parseListenAddress,
  parseText,
  SELECTOR_NAMES,
  syntaxOf,
  validateConfig,
} from '../../src/config/index.js';
import { nearest } from '../../src/config/rules.js';

const base = {
  pools: { app: { endpoints: ['http://127.0.0.1:9001'] } },
  listeners: [{ protocol: 'http', listen: '127.0.0.1:8080', pool: 'app' }],
};

function problems(input: unknown): string[] {
  const result = validateConfig(input);
  return result.ok ? [] : result.issues.map((i) => `${i.path}: ${i.message}`);
}

describe('the config definition', () => {
  it('accepts the SPEC example shape, every selector by name and with options', () => {
    for (const name of SELECTOR_NAMES) {
      expect(problems({ ...base, pools: { app: { ...base.pools.app, selector: name } } })).toEqual(
        [],
      );
      expect(
        problems({ ...base, pools: { app: { ...base.pools.app, selector: { type: name } } } }),
      ).toEqual([]);
    }
    expect(
      problems({
        ...base,
        pools: {
          app: {
            endpoints: [
              {
                url: 'http://127.0.0.1:9001',
                weight: 2.5,
                priority: 1,
                id: 'a',
                metadata: { zone: 'x' },
              },
            ],
            selector: { type: 'ring-hash', vnodes: 320, loadFactor: 1.25, keyCacheSize: 0 },
            healthCheck: {
              type: 'http',
              path: '/healthz',
              expectStatus: [200, 299],
              intervalMs: 2000,
              headers: { 'x-check': '1' },
            },
            outlierDetection: false,
            slowStartMs: 0,
            panicThreshold: 0,
          },
        },
      }),
    ).toEqual([]);
  });

  it('infers its TypeScript type from the same definition', () => {
    const parsed = configSchema.parse(base);
    const listener = parsed.listeners?.[0];
    if (listener?.protocol === 'http') expect(listener.pool).toBe('app');
  });

  it('refuses options the selector does not have, naming the key', () => {
    expect(
      problems({
        ...base,
        pools: { app: { ...base.pools.app, selector: { type: 'round-robin', vnodes: 3 } } },
      }),
    ).toEqual(['pools.app.selector.vnodes: unknown key; known keys are "type"']);
    expect(
      problems({ ...base, pools: { app: { ...base.pools.app, selector: { type: 'magelv' } } } }),
    ).toEqual([
      'pools.app.selector.type: must be one of "round-robin", "weighted-round-robin", "random", "weighted-random", "least-connections", "power-of-two-choices", "peak-ewma", "ring-hash", "maglev", "rendezvous"',
    ]);
    expect(
      problems({
        ...base,
        pools: { app: { ...base.pools.app, selector: { type: 'ring-hash', loadFactor: 1 } } },
      }),
    ).toEqual(['pools.app.selector.loadFactor: must be a number > 1']);
  });

  it.each([
    [{ weight: 0 }, 'pools.app.endpoints[0].weight: must be a number > 0'],
    [{ weight: '2' }, 'pools.app.endpoints[0].weight: must be a number > 0'],
    [{ priority: -1 }, 'pools.app.endpoints[0].priority: must be an integer >= 0'],
    [{ priority: 0.5 }, 'pools.app.endpoints[0].priority: must be an integer >= 0'],
    [
      { url: 'not a url' },
      'pools.app.endpoints[0].url: must be an absolute URL such as "http://127.0.0.1:8080"',
    ],
    [{ metadata: [] }, 'pools.app.endpoints[0].metadata: must be an object'],
  ])('endpoint %j', (patch, message) => {
    const endpoint = { url: 'http://127.0.0.1:9001', ...patch };
    expect(problems({ ...base, pools: { app: { endpoints: [endpoint] } } })).toEqual([message]);
  });

  it('names a missing key as required', () => {
    expect(problems({ ...base, listeners: [{ protocol: 'http', pool: 'app' }] })).toEqual([
      'listeners[0].listen: is required',
    ]);
    expect(problems({ listeners: [] })).toEqual(['pools: is required']);
  });

  it('checks the health check of each type against its own options', () => {
    const hc = (healthCheck: unknown) =>
      problems({ ...base, pools: { app: { ...base.pools.app, healthCheck } } });
    expect(hc({ type: 'tcp', send: 'PING\r\n', expect: '+PONG', intervalMs: 1000 })).toEqual([]);
    expect(hc({ type: 'tcp', path: '/x' })).toEqual([
      'pools.app.healthCheck.path: unknown key; known keys are "type", "port", "send", "expect", "maxBytes", "intervalMs", "unhealthyIntervalMs", "timeoutMs", "jitter", "healthyThreshold", "unhealthyThreshold", "concurrency", "unejectOnPass"',
    ]);
    expect(hc({ path: '/x' })).toEqual(['pools.app.healthCheck.type: must be "http" or "tcp"']);
    expect(hc({ type: 'http', expectStatus: [300, 200] })).toEqual([
      'pools.app.healthCheck.expectStatus: must be a [min, max] pair with min <= max',
    ]);
    expect(hc({ type: 'http', jitter: 0.9 })).toEqual([
      'pools.app.healthCheck.jitter: must be a number >= 0 and <= 0.5',
    ]);
  });

  it('checks listeners of each protocol', () => {
    const l = (listener: unknown) => problems({ ...base, listeners: [listener] });
    expect(
      l({
        protocol: 'tcp',
        listen: '[::1]:6432',
        pool: 'app',
        proxyProtocol: 'v1',
        affinity: { by: 'ip' },
      }),
    ).toEqual([]);
    expect(l({ protocol: 'tcp', listen: '127.0.0.1:6432', pool: 'app', retry: {} })).toEqual([
      'listeners[0].retry: unknown key; known keys are "protocol", "listen", "pool", "proxyProtocol", "connectTimeoutMs", "idleTimeoutMs", "attempts", "affinity"',
    ]);
    expect(
      l({ protocol: 'http', listen: '127.0.0.1:8080', pool: 'app', affinity: { by: 'cookie' } }),
    ).toEqual(['listeners[0].affinity.by: must be "ip"']);
    expect(
      l({
        protocol: 'http',
        listen: '127.0.0.1:8080',
        pool: 'app',
        trustProxy: ['10.0.0.0/8', '::1', '192.168.1.1'],
      }),
    ).toEqual([]);
    expect(
      l({
        protocol: 'http',
        listen: '127.0.0.1:8080',
        pool: 'app',
        retry: { budget: false, statuses: [503] },
      }),
    ).toEqual([]);
  });

  it('checks discovery', () => {
    const d = (dns: unknown) => problems({ pools: { db: { discovery: { dns } } } });
    expect(d({ name: '_pg._tcp.db.internal' })).toEqual([]);
    expect(
      d({ name: 'db.internal', type: 'AAAA', port: 5432, servers: ['127.0.0.1:5353'] }),
    ).toEqual([]);
    expect(d({ name: 'db', minRefreshMs: 5000, maxRefreshMs: 1000 })).toEqual([
      'pools.db.discovery.dns.minRefreshMs: must be <= maxRefreshMs (1000)',
    ]);
    expect(d({ name: 'db', type: 'MX' })).toEqual([
      'pools.db.discovery.dns.type: must be one of "SRV", "A", "AAAA"',
    ]);
  });

  it('checks pool names and duplicate endpoint ids', () => {
    expect(problems({ pools: { 'my app': { endpoints: [] } } })).toEqual([
      'pools["my app"]: pool names must be letters, digits, "_", "." or "-" (at most 63), starting with a letter or digit',
    ]);
    expect(
      problems({ pools: { app: { endpoints: ['http://127.0.0.1:1', 'http://127.0.0.1:1/'] } } }),
    ).toEqual(['pools.app.endpoints[1]: duplicate endpoint id (the same as endpoints[0])']);
  });
});

describe('listen addresses', () => {
  it.each([
    ['127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
    ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
    ['localhost:80', { host: 'localhost', port: 80 }],
    ['[::1]:8080', { host: '::1', port: 8080 }],
    ['[::]:443', { host: '::', port: 443 }],
  ])('%s parses', (text, address) => {
    expect(parseListenAddress(text)).toEqual(address);
    expect(formatListenAddress(address)).toBe(text);
  });

  it.each([
    ['8080', 'must be "host:port" or "[ipv6]:port"'],
    [':8080', 'must start with a host name or an IPv4 address'],
    ['::1:8080', 'must be "host:port" or "[ipv6]:port"'],
    ['[nope]:80', 'must hold an IPv6 address between the brackets'],
    ['host:65536', 'port must be an integer from 0 to 65535'],
    ['ho st:80', 'must start with a host name or an IPv4 address'],
    ['127.0.0.1:-1', 'must be "host:port" or "[ipv6]:port"'],
  ])('%s is refused', (text, message) => {
    expect(parseListenAddress(text)).toBe(message);
  });
});

describe('parsing', () => {
  it('picks the syntax by extension, else by the first character', () => {
    expect(syntaxOf('a.json', 'x: 1')).toBe('json');
    expect(syntaxOf('a.YML', '{}')).toBe('yaml');
    expect(syntaxOf('a.conf', '\uFEFF  {"pools": {}}')).toBe('json');
    expect(syntaxOf('a', 'pools: {}')).toBe('yaml');
  });

  it('reads YAML anchors but refuses alias bombs', () => {
    expect(parseText('a.yaml', 'x: &e [1]\ny: *e\n')).toEqual({ x: [1], y: [1] });
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 8; i++)
      bomb.push(
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(97 + i)}`)
          .join(',')}]`,
      );
    expect(() => parseText('bomb.yaml', bomb.join('\n'))).toThrow(
      /^bomb\.yaml:1:1: invalid YAML: Excessive alias count/,
    );
  });

  it('hints at the key meant', () => {
    expect(nearest('endpoint', ['endpoints', 'selector'])).toBe('endpoints');
    expect(nearest('wieght', ['weight', 'url'])).toBe('weight');
    expect(nearest('Selector', ['selector'])).toBe('selector');
    expect(nearest('token', ['tokenEnv'])).toBe('tokenEnv');
    expect(nearest('zzzzzz', ['endpoints'])).toBeUndefined();
  });
});

describe('credentials', () => {
  it('are masked in every problem line', async () => {
    const { formatIssue, redactCredentials } = await import('../../src/config/index.js');
    expect(redactCredentials('http://user:hunter2@127.0.0.1:1/x and tcp://u@h:1')).toBe(
      'http://***@127.0.0.1:1/x and tcp://***@h:1',
    );
    const result = validateConfig({
      pools: { app: { endpoints: [{ url: 'http://user:hunter2@127.0.0.1:1', weight: -1 }] } },
    });
    expect(result.ok).toBe(false);
    const lines = result.ok ? [] : result.issues.map(formatIssue);
    expect(lines).toEqual(['pools.app.endpoints[0].weight: must be a number > 0, got -1']);
    expect(
      formatIssue({ path: 'pools.app.endpoints[0]', message: 'x', value: 'https://a:b@h' }),
    ).toBe('pools.app.endpoints[0]: x, got "https://***@h"');
  });
});

describe('hostile input', () => {
  it('a listener naming an Object.prototype key is not a pool', () => {
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      expect(
        problems({
          pools: {},
          listeners: [{ protocol: 'http', listen: '127.0.0.1:1', pool: name }],
        }),
      ).toEqual([`listeners[0].pool: no pool of that name (the pools are none)`]);
    }
  });

  it('a pool named __proto__ is refused, not merged into the prototype', () => {
    const input = JSON.parse('{"pools": {"__proto__": {"endpoints": []}}}');
    expect(problems(input)).toEqual([
      'pools.__proto__: pool names must be letters, digits, "_", "." or "-" (at most 63), starting with a letter or digit',
    ]);
    expect(({} as Record<string, unknown>).endpoints).toBeUndefined();
  });

  it('numbers that are not finite, huge arrays of errors', () => {
    expect(
      problems({ pools: { app: { endpoints: [], slowStartMs: Number.POSITIVE_INFINITY } } }),
    ).toEqual(['pools.app.slowStartMs: must be a number >= 0 and <= 2147483647']);
    const endpoints = Array.from({ length: 5_000 }, () => ({
      url: 'http://127.0.0.1:1',
      weight: -1,
    }));
    const result = validateConfig({ pools: { app: { endpoints } } });
    expect(result.ok ? 0 : result.issues.length).toBe(5_000 + 4_999);
  });
});
