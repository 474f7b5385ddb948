import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dnsmasq } from './dnsmasq.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SRV = '_http._tcp.svc.test';
const KEYS = 10_000;

/**
 * One process of a fleet, against the built package (npm test builds first): discovers the
 * endpoints, then prints the endpoint every key maps to. It does not close anything: its
 * timers and sockets must not keep it alive.
 */
const processScript = (server: string, selector: string) => `
import { Pool, ${selector} } from 'switchyard';
import { DnsDiscovery } from 'switchyard/discovery';
const pool = new Pool({ endpoints: [], selector: new ${selector}() });
const discovery = new DnsDiscovery({ name: '${SRV}', servers: ['${server}'] });
discovery.attach(pool);
const deadline = Date.now() + 10_000;
while (pool.endpoints.length < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
const map = [];
for (let i = 0; i < ${KEYS}; i++) {
  const lease = pool.acquire({ key: 'user-' + i });
  map.push(lease.endpoint.id);
  lease.release({ ok: true });
}
console.log(JSON.stringify(map));
`;

describe('a fleet of processes sharing one DNS name', () => {
  let dns: Dnsmasq;
  beforeAll(async () => {
    const hosts = Array.from({ length: 8 }, (_, i) => i + 1);
    // Shuffled on purpose: processes must not depend on the order of the answer.
    dns = await Dnsmasq.start([
      ...hosts.map((i) => `--srv-host=${SRV},h${i}.svc.test,${8000 + i},1,${(i % 3) + 1}`),
      ...hosts.map((i) => `--host-record=h${i}.svc.test,127.0.0.${10 + i}`),
    ]);
  });
  afterAll(() => dns?.stop());

  for (const selector of ['Maglev', 'RingHash', 'Rendezvous']) {
    it(`maps ${KEYS} keys to the same endpoints in two processes (${selector})`, async () => {
      const run = () =>
        promisify(execFile)(
          process.execPath,
          ['--input-type=module', '-e', processScript(dns.address, selector)],
          { cwd: root, timeout: 30_000, maxBuffer: 16 * 1024 * 1024 },
        );
      const [a, b] = await Promise.all([run(), run()]);
      const first: string[] = JSON.parse(a.stdout);
      const second: string[] = JSON.parse(b.stdout);
      expect(first).toHaveLength(KEYS);
      expect(new Set(first).size).toBe(8);
      expect(second).toEqual(first);
    });
  }
});
