import { expect, it } from 'vitest';
import { runExample } from './support.js';

it('examples/fastify.ts proxies under /api through switchyard/fastify, and exits by itself', async () => {
  const { stdout, stderr } = await runExample('fastify.ts');
  expect(stderr).toBe('');
  const lines = stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^backends: a http:\/\/127\.0\.0\.1:\d+, b http:\/\/127\.0\.0\.1:\d+$/);
  expect(lines.slice(1)).toEqual([
    'GET /health -> 200 {"ok":true}',
    // Round robin from the first endpoint; the prefix stripped, the query kept.
    'GET /api/users?page=2 -> 200 a got GET /users?page=2',
    'GET /api -> 200 b got GET /',
    'POST /api/orders -> 200 a got POST /orders {"item":"book"}',
    // Under the plugin's bodyLimit: streamed through whole; over it, Fastify's 413.
    'POST /api/upload (2 MiB) -> 200 b got POST /upload (2097152 bytes)',
    'POST /api/upload (5 MiB) -> 413 {"statusCode":413,"code":"FST_ERR_CTP_BODY_TOO_LARGE","error":"Payload Too Large","message":"Request body is too large"}',
    // Outside the plugin, Fastify's JSON parser still runs.
    'POST /local -> 200 {"parsed":{"item":"book"}}',
    'done',
  ]);
});
