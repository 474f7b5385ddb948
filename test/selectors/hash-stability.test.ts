import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { Maglev } from '../../src/selectors/maglev.js';
import { Rendezvous } from '../../src/selectors/rendezvous.js';
import { RingHash } from '../../src/selectors/ring-hash.js';

const run = promisify(execFile);
const fixture = fileURLToPath(new URL('./fixtures/hash-mapping.mjs', import.meta.url));
// The built package, as another process would install it (`npm test` builds first).
const entry = new URL('../../dist/index.js', import.meta.url);

interface Output {
  order: string[];
  result: Record<'ring' | 'maglev' | 'rendezvous', (string | null)[]>;
}

async function mappingInChild(order: string): Promise<Output> {
  const { stdout } = await run(process.execPath, [fixture, entry.href, order], {
    timeout: 20_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as Output;
}

/** The fixture's endpoint set, in its forward order. */
function fixtureEndpoints() {
  const ids = Array.from({ length: 20 }, (_, i) => `127.0.0.${i + 1}:8080`);
  ids.push('127.0.1.1:8080/ünïcødé', '127.0.1.2:8080/🚀');
  return ids.map((id, i) => ({ id, weight: 1 + (i % 3), inflight: 0, latency: 0 }));
}

describe('hashing is stable across processes', () => {
  test('two processes listing the endpoints in different orders map 10 000 keys alike', async () => {
    if (!existsSync(entry)) {
      throw new Error(`${fileURLToPath(entry)} is missing: run \`npm run build\` first`);
    }
    const [first, second] = await Promise.all([mappingInChild('reverse'), mappingInChild('7')]);
    expect(first.order).not.toEqual(second.order);
    expect(new Set(first.order)).toEqual(new Set(second.order));
    for (const name of ['ring', 'maglev', 'rendezvous'] as const) {
      expect(first.result[name]).toHaveLength(10_000);
      expect(first.result[name]).not.toContain(null);
      expect(second.result[name]).toEqual(first.result[name]);
    }

    // The build agrees with the source this process runs.
    const keys = Array.from({ length: 10_000 }, (_, i) => `key-${i}`);
    const endpoints = fixtureEndpoints();
    for (const [name, selector] of [
      ['ring', new RingHash()],
      ['maglev', new Maglev()],
      ['rendezvous', new Rendezvous()],
    ] as const) {
      selector.update(endpoints);
      expect(keys.map((key) => selector.pick({ key })?.id)).toEqual(first.result[name]);
    }

    // Golden values: a change in hashing or table construction breaks these.
    const golden = (name: keyof Output['result']) => [
      ...first.result[name].slice(0, 6),
      first.result[name][9_999],
    ];
    expect(golden('ring')).toEqual([
      '127.0.0.9:8080',
      '127.0.0.15:8080',
      '127.0.0.3:8080',
      '127.0.0.20:8080',
      '127.0.1.1:8080/ünïcødé',
      '127.0.0.15:8080',
      '127.0.0.8:8080',
    ]);
    expect(golden('maglev')).toEqual([
      '127.0.0.8:8080',
      '127.0.0.2:8080',
      '127.0.0.18:8080',
      '127.0.1.1:8080/ünïcødé',
      '127.0.0.19:8080',
      '127.0.0.3:8080',
      '127.0.0.9:8080',
    ]);
    expect(golden('rendezvous')).toEqual([
      '127.0.0.6:8080',
      '127.0.1.1:8080/ünïcødé',
      '127.0.0.9:8080',
      '127.0.0.17:8080',
      '127.0.0.18:8080',
      '127.0.1.1:8080/ünïcødé',
      '127.0.0.14:8080',
    ]);
  });
});
