import { expect, it } from 'vitest';
import { runExample } from './support.js';

it('examples/proxy-hooks.ts rewrites requests and responses, transforms HTML and routes per request', async () => {
  const { stdout, stderr } = await runExample('proxy-hooks.ts');
  expect(stderr).toBe('');
  expect(stdout.trim().split('\n')).toEqual([
    'GET /v1/users/7 -> 200 api saw /users/7 tenant=acme (server: -, x-proxied-by: switchyard)',
    'GET /index.html -> 200 <body>hello<footer>hi</footer></body> (server: -, x-proxied-by: switchyard)',
    'GET /about -> 200 web saw /about tenant=acme (server: -, x-proxied-by: switchyard)',
    'done',
  ]);
});
