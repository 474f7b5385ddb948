import { execFile } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLI, root, tempDir, writeConfig } from './serve-support.js';

async function check(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, 'check', file], {
      cwd: root,
      timeout: 20_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const lines = (text: string) => text.split('\n').filter((l) => l !== '');

describe('switchyard check (the built binary)', () => {
  it('passes the example config and the spec example: exit 0, FILE: ok', async () => {
    const file = join(root, 'examples/serve/switchyard.yaml');
    expect(await check(file)).toEqual({ code: 0, stdout: `${file}: ok\n`, stderr: '' });
  });

  it('prints every error as path: message, got value, and exits 1', async () => {
    const dir = tempDir();
    const file = writeConfig(dir, 'broken.json', {
      pools: {
        app: {
          endpoints: ['http://127.0.0.1:9001', { url: 'http://127.0.0.1:9002', weight: -1 }],
          endpoint: ['http://127.0.0.1:9003'],
          selector: 'peak-ewmaa',
          healthCheck: { type: 'http', path: 'healthz', intervalMs: 0, unhealthyThreshold: 1.5 },
          outlierDetection: {
            consecutiveFailures: 0,
            baseEjectionMs: 10_000,
            maxEjectionMs: 5_000,
          },
          panicThreshold: 2,
        },
        hash: {
          endpoints: ['http://127.0.0.1:9004'],
          selector: { type: 'maglev', tableSize: 100 },
        },
        both: { endpoints: [], discovery: { dns: { name: 'db.internal', type: 'A' } } },
        neither: {},
        tcpOnly: { endpoints: ['tcp://127.0.0.1:5432'] },
      },
      listeners: [
        { protocol: 'http', listen: '127.0.0.1:8080', pool: 'apps', retry: { attempts: 0 } },
        { protocol: 'tcp', listen: '127.0.0.1:8080', pool: 'hash', proxyProtocol: 'v3' },
        { protocol: 'udp', listen: '127.0.0.1:53', pool: 'app' },
        { protocol: 'http', listen: '8081', pool: 'tcpOnly', trustProxy: ['10.0.0.0/33'] },
        {
          protocol: 'http',
          listen: '[::1]:8082',
          pool: 'app',
          affinity: { cookie: 'sy', secret: 'x' },
        },
      ],
      dashboard: { listen: '127.0.0.1:99999', admin: { token: 'hunter2' } },
    });
    const { code, stdout, stderr } = await check(file);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(lines(stderr).sort()).toEqual(
      [
        'pools.app.endpoints[1].weight: must be a number > 0, got -1',
        'pools.app.endpoint: unknown key (did you mean "endpoints"?), got array of 1',
        'pools.app.selector: must be one of "round-robin", "weighted-round-robin", "random", "weighted-random", "least-connections", "power-of-two-choices", "peak-ewma", "ring-hash", "maglev", "rendezvous" (did you mean "peak-ewma"?), got "peak-ewmaa"',
        'pools.app.healthCheck.path: must be a path starting with "/", got "healthz"',
        'pools.app.healthCheck.intervalMs: must be a number > 0 and <= 2147483647, got 0',
        'pools.app.healthCheck.unhealthyThreshold: must be an integer >= 1, got 1.5',
        'pools.app.outlierDetection.consecutiveFailures: must be an integer >= 1, got 0',
        'pools.app.outlierDetection.maxEjectionMs: must be >= baseEjectionMs (10000), got 5000',
        'pools.app.panicThreshold: must be a number >= 0 and <= 1, got 2',
        'pools.hash.selector.tableSize: must be a prime number, got 100',
        'pools.both: must have exactly one of "endpoints" and "discovery", got {"endpoints":[],"discovery":{"dns":{"name":"db.internal","type":"A"}}}',
        'pools.both.discovery.dns.port: is required for A records, got nothing',
        'pools.neither: must have exactly one of "endpoints" and "discovery", got {}',
        'listeners[0].pool: no pool of that name (did you mean "app"?), got "apps"',
        'listeners[0].retry.attempts: must be an integer >= 1 and <= 100, got 0',
        'listeners[1].listen: is already the address of listeners[0], got "127.0.0.1:8080"',
        'listeners[1].proxyProtocol: must be false, "v1" or "v2", got "v3"',
        'listeners[2].protocol: must be "http" or "tcp", got "udp"',
        'listeners[3].listen: must be "host:port" or "[ipv6]:port", got "8081"',
        'listeners[3].trustProxy[0]: must be an IP address, a CIDR block such as "10.0.0.0/8", "loopback", "linklocal" or "uniquelocal", got "10.0.0.0/33"',
        'pools.tcpOnly.endpoints[0]: must be an http: or https: URL: the http listener listeners[3] uses this pool, got "tcp://127.0.0.1:5432"',
        'listeners[4].affinity.secret: unknown key (did you mean "secretEnv"?), got "x"',
        'dashboard.listen: port must be an integer from 0 to 65535, got "127.0.0.1:99999"',
        'dashboard.admin.tokenEnv: is required, got nothing',
        'dashboard.admin.token: unknown key (did you mean "tokenEnv"?), got "hunter2"',
      ].sort(),
    );
  });

  it('reports YAML files by the same paths', async () => {
    const dir = tempDir();
    const file = writeConfig(
      dir,
      'broken.yml',
      'pools:\n  app:\n    endpoints:\n      - http://127.0.0.1:9001\n      - { url: http://127.0.0.1:9002, weight: -1 }\nlisteners:\n  - { protocol: http, listen: 127.0.0.1:8080, pool: app, retry: { atempts: 2 } }\n',
    );
    const { code, stderr } = await check(file);
    expect(code).toBe(1);
    expect(lines(stderr)).toEqual([
      'pools.app.endpoints[1].weight: must be a number > 0, got -1',
      'listeners[0].retry.atempts: unknown key (did you mean "attempts"?), got 2',
    ]);
  });

  it.each([
    [
      'bad.json',
      '{\n  "pools": {\n    "app": { endpoints: [] }\n  }\n}\n',
      /^bad\.json:3:14: invalid JSON: .+$/,
    ],
    [
      'bad.yaml',
      'pools:\n  app:\n    endpoints: [http://a\n  b: 1\n',
      /^bad\.yaml:\d+:\d+: invalid YAML: .+$/,
    ],
    [
      'dup.yaml',
      'pools: {}\npools: {}\n',
      /^dup\.yaml:2:1: invalid YAML: Map keys must be unique$/,
    ],
    ['sniffed.conf', '{ "pools": ', /^sniffed\.conf:1:12: invalid JSON: .+$/],
  ])('%s: one line with line:column, no stack trace', async (name, content, pattern) => {
    const dir = tempDir();
    writeConfig(dir, name, content);
    const { code, stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [CLI, 'check', name],
      {
        cwd: dir,
      },
    ).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(lines(stderr)).toHaveLength(1);
    expect(stderr.trim()).toMatch(pattern);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('an unreadable file is one line', async () => {
    const dir = tempDir();
    expect(await check(join(dir, 'missing.yaml'))).toEqual({
      code: 1,
      stdout: '',
      stderr: `${join(dir, 'missing.yaml')}: cannot read: no such file\n`,
    });
    expect((await check(dir)).stderr).toBe(`${dir}: cannot read: is a directory\n`);
    if (process.getuid?.() !== 0) {
      const file = writeConfig(dir, 'secret.yaml', 'pools: {}\n');
      chmodSync(file, 0o000);
      expect((await check(file)).stderr).toBe(`${file}: cannot read: permission denied\n`);
    }
  });

  it('a file that is not an object', async () => {
    const dir = tempDir();
    const { code, stderr } = await check(writeConfig(dir, 'list.json', '[1, 2]'));
    expect(code).toBe(1);
    expect(stderr).toBe('(the file): must be an object, got array of 2\n');
  });

  it('an empty pools object with no listeners is valid', async () => {
    const dir = tempDir();
    const file = writeConfig(dir, 'empty.json', { pools: {} });
    expect((await check(file)).code).toBe(0);
  });
});
