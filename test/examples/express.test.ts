import { expect, it } from 'vitest';
import { runExample } from './support.js';

it('examples/express.ts proxies under /api, forwards a parsed body, and exits by itself', async () => {
  const { stdout, stderr } = await runExample('express.ts');
  expect(stderr).toBe('');
  const lines = stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^backends: a http:\/\/127\.0\.0\.1:\d+, b http:\/\/127\.0\.0\.1:\d+$/);
  expect(lines.slice(1)).toEqual([
    'GET /health -> 200 {"ok":true}',
    // Round robin from the first endpoint; the mount path stripped, the query kept.
    'GET /api/users?page=2 -> 200 a got GET /users?page=2',
    'GET /api/users/7 -> 200 b got GET /users/7',
    'POST /api/upload -> 200 a got POST /upload streamed through as is',
    // express.json() read the stream: the proxy sent req.body, re-encoded.
    'POST /orders -> 200 b got POST /orders {"item":"book","quantity":2}',
    'POST /orders -> 400 {"error":"an order needs an item and a quantity"}',
    'done',
  ]);
});
