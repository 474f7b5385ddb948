import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';

// The built package: `npm test` builds before the tests run.
const dist = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist');
const core = pathToFileURL(resolve(dist, 'index.js')).href;
const http = pathToFileURL(resolve(dist, 'http.js')).href;

/** Runs an ES module in a child Node; resolves with its exit code, output and run time. */
function runChild(
  source: string,
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', source],
      { timeout: 20_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: number }).code ?? null) : 0;
        done({
          code: typeof code === 'number' ? code : null,
          stdout,
          stderr,
          ms: Date.now() - started,
        });
      },
    );
  });
}

// Waits for N checks, holding the process open with its own timer meanwhile, then returns.
const waitForChecks = (n: number) => `
const keepAlive = setTimeout(() => { console.log('timed out waiting for checks'); process.exit(3); }, 10_000);
let seen = 0;
await new Promise((resolve) => monitor.onCheck(() => { if (++seen >= ${n}) resolve(); }));
clearTimeout(keepAlive);
console.log('checked', seen);
`;

describe('a process running a HealthMonitor', () => {
  it('exits on its own when the monitor is started and never stopped', async () => {
    const result = await runChild(`
import { HealthMonitor, Pool } from ${JSON.stringify(core)};
const endpoints = Array.from({ length: 100 }, (_, i) => 'http://127.0.9.' + i + ':80');
const monitor = new HealthMonitor(new Pool({ endpoints }), { check: () => Promise.resolve(), intervalMs: 20, jitter: 0.5 });
monitor.start();
${waitForChecks(300)}
`);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^checked \d+/);
    expect(result.code).toBe(0);
  });

  it('exits on its own after stop()', async () => {
    const result = await runChild(`
import { HealthMonitor, Pool } from ${JSON.stringify(core)};
const pool = new Pool({ endpoints: ['http://127.0.9.1:80'] });
const monitor = new HealthMonitor(pool, {
  check: (_e, signal) => new Promise((_r, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
  intervalMs: 10, timeoutMs: 60_000, jitter: 0,
});
monitor.start();
await new Promise((resolve) => setTimeout(resolve, 50));
await monitor.stop();
await pool.close();
console.log('stopped');
`);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('stopped\n');
    expect(result.code).toBe(0);
  });

  it('exits on its own with httpCheck keeping connections to a live backend, not stopped', async () => {
    const server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    onTestFinished(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const result = await runChild(`
import { HealthMonitor, Pool } from ${JSON.stringify(core)};
import { httpCheck } from ${JSON.stringify(http)};
const pool = new Pool({ endpoints: [${JSON.stringify(url)}] });
const monitor = new HealthMonitor(pool, { check: httpCheck(), intervalMs: 20 });
monitor.start();
${waitForChecks(5)}
`);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^checked 5/);
    expect(result.code).toBe(0);
  });
});
