import { describe, expect, it } from 'vitest';
import { freePorts, get, runCli, startBackend, tempDir, writeConfig } from './serve-support.js';

describe('switchyard serve: the dashboard', () => {
  it('serves the snapshot of every pool, with admin from the environment', async () => {
    const a = await startBackend('a');
    const [port, dash] = (await freePorts(2)) as [number, number];
    const file = writeConfig(tempDir(), 'lb.json', {
      pools: { app: { endpoints: [a.url] } },
      listeners: [{ protocol: 'http', listen: `127.0.0.1:${port}`, pool: 'app' }],
      dashboard: { listen: `127.0.0.1:${dash}`, admin: { tokenEnv: 'SY_TEST_TOKEN' } },
    });
    const served = runCli(['serve', '--config', file], {
      SY_TEST_TOKEN: 'secret-token-with-enough-chars',
    });
    await served.waitFor(/started/);
    expect(served.lines.join('\n')).toMatch(
      new RegExp(`dashboard listening address=127\\.0\\.0\\.1:${dash}`),
    );
    const snapshot = JSON.parse((await get(`http://127.0.0.1:${dash}/api/snapshot`)).body);
    expect(Object.keys(snapshot.pools)).toEqual(['app']);
    expect(served.lines.join('\n')).not.toContain('secret-token-with-enough-chars');
    served.child.kill('SIGTERM');
    expect(await served.exited()).toBe(0);
  });
});
