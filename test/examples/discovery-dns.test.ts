import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it, onTestFinished } from 'vitest';
import { Dnsmasq } from '../discovery/dnsmasq.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SRV = '_http._tcp.app.svc.test';

it('examples/discovery-dns.ts fills a pool from SRV records and follows a change', async () => {
  const dns = await Dnsmasq.start([
    '--local-ttl=1',
    `--srv-host=${SRV},a.svc.test,8080,10,5`,
    `--srv-host=${SRV},b.svc.test,8081,20,0`,
    '--host-record=a.svc.test,127.0.0.2',
    '--host-record=b.svc.test,127.0.0.3',
  ]);
  onTestFinished(() => dns.stop());
  const run = promisify(execFile)(process.execPath, ['examples/discovery-dns.ts'], {
    cwd: root,
    timeout: 30_000,
    env: {
      ...process.env,
      NODE_NO_WARNINGS: '1',
      DNS_SERVER: dns.address,
      DNS_NAME: SRV,
      DURATION_MS: '4000',
    },
  });
  // Change the records while it runs: b leaves, c joins.
  await new Promise((r) => setTimeout(r, 1_500));
  await dns.restart([
    '--local-ttl=1',
    `--srv-host=${SRV},a.svc.test,8080,10,5`,
    `--srv-host=${SRV},c.svc.test,8082,10,1`,
    '--host-record=a.svc.test,127.0.0.2',
    '--host-record=c.svc.test,127.0.0.4',
  ]);
  const { stdout, stderr } = await run;
  expect(stderr).toBe('');
  const lines = stdout.trim().split('\n');
  expect(lines[0]).toBe(
    'endpoints: http://127.0.0.2:8080 weight 5 tier 0, http://127.0.0.3:8081 weight 1 tier 1',
  );
  expect(lines.filter((l) => l.startsWith('user-'))).toHaveLength(3);
  expect(lines).toContain(
    'endpoints: http://127.0.0.2:8080 weight 5 tier 0, http://127.0.0.4:8082 weight 1 tier 0',
  );
  expect(lines.at(-1)).toBe('done');
});
