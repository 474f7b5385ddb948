import { spawn } from 'node:child_process';
import { describe, expect, it, onTestFinished } from 'vitest';
import { freePort, get, runCli, startBackend, tempDir, writeConfig } from './serve-support.js';

describe('switchyard serve: DNS discovery pools', () => {
  it('fills a pool from SRV records served by a local dnsmasq', async () => {
    const [a, b] = [await startBackend('a'), await startBackend('b')];
    const dir = tempDir();
    const dnsPort = await freePort();
    const dnsmasq = spawn('/usr/sbin/dnsmasq', [
      '--keep-in-foreground',
      '--no-resolv',
      '--no-hosts',
      '--host-record=app.test,127.0.0.1',
      // Authoritative for .test: a name without AAAA gets an empty answer, not REFUSED.
      '--local=/test/',
      '--listen-address=127.0.0.1',
      `--port=${dnsPort}`,
      '--bind-interfaces',
      `--srv-host=_http._tcp.app.test,app.test,${a.port},0,1`,
      `--srv-host=_http._tcp.app.test,app.test,${b.port},0,1`,
      '--local-ttl=1',
    ]);
    onTestFinished(() => void dnsmasq.kill());
    const port = await freePort();
    const file = writeConfig(dir, 'lb.json', {
      pools: {
        app: {
          discovery: {
            dns: {
              name: '_http._tcp.app.test',
              type: 'SRV',
              servers: [`127.0.0.1:${dnsPort}`],
              minRefreshMs: 200,
            },
          },
          selector: 'round-robin',
        },
      },
      listeners: [{ protocol: 'http', listen: `127.0.0.1:${port}`, pool: 'app' }],
    });
    const served = runCli(['serve', '--config', file]);
    await served.waitFor(/started/);
    const bodies = new Set<string>();
    for (let i = 0; i < 20 && bodies.size < 2; i++) {
      const res = await get(`http://127.0.0.1:${port}/`).catch(() => ({ status: 0, body: '' }));
      if (res.status === 200) bodies.add(res.body);
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect([...bodies].sort(), served.lines.join('\n')).toEqual(['a', 'b']);
    expect(served.lines.join('\n')).toMatch(
      /info +endpoints discovered pool=app added=\["http:\/\/127\.0\.0\.1:\d+","http:\/\/127\.0\.0\.1:\d+"\] removed=\[\]/,
    );
    served.child.kill('SIGTERM');
    expect(await served.exited()).toBe(0);
  });
});
