import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

// Runs the example as a user would, against the built package (npm test builds first):
// Node strips the types, and `switchyard` resolves to this package through `exports`.
it('examples/fastify.ts proxies under /api without parsing bodies, and exits by itself', async () => {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, ['examples/fastify.ts'], {
    cwd: root,
    timeout: 30_000,
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  });
  expect(stderr).toBe('');
  const lines = stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^backends: a http:\/\/127\.0\.0\.1:\d+, b http:\/\/127\.0\.0\.1:\d+$/);
  expect(lines.slice(1)).toEqual([
    'GET /health -> 200 {"ok":true}',
    // Round robin from the first endpoint; the prefix stripped, the query kept.
    'GET /api/users?page=2 -> 200 a got GET /users?page=2',
    'GET /api -> 200 b got GET /',
    'POST /api/orders -> 200 a got POST /orders {"item":"book"}',
    // Past Fastify's bodyLimit: streamed through whole.
    'POST /api/upload (2 MiB) -> 200 b got POST /upload (2097152 bytes)',
    // Outside the plugin, Fastify's JSON parser still runs.
    'POST /local -> 200 {"parsed":{"item":"book"}}',
    'done',
  ]);
});
