import { expect, it } from 'vitest';
import { runExample } from './support.js';

it('examples/dashboard.ts reads the snapshot and the metrics, drains through the admin API, and exits', async () => {
  const { stdout, stderr } = await runExample('dashboard.ts');
  expect(stderr).toBe('');
  const lines = stdout.trim().split('\n');
  expect(lines[0]).toBe('dashboard at http://127.0.0.1:PORT/');
  expect(lines[1]).toMatch(/^fast: healthy, \d+ requests, p50 under 8 ms: true$/);
  expect(lines[2]).toMatch(/^slow: healthy, \d+ requests, p50 over 8 ms: true$/);
  expect(lines.slice(3)).toEqual([
    'busy: ejected (its Retry-After ejected it), ejections 1',
    'metrics: 8 families, e.g. # TYPE switchyard_requests_total counter',
    'drain: 204, now draining; wrong token: 401',
    'done',
  ]);
});
