import { expect, it } from 'vitest';
import { runExample } from './support.js';

it('examples/proxy-behind-a-front-proxy.ts trusts loopback only, keeps forgeries out and refuses climbing paths', async () => {
  const { stdout, stderr } = await runExample('proxy-behind-a-front-proxy.ts');
  expect(stderr).toBe('');
  expect(stdout.trim().split('\n')).toEqual([
    // The trusted front proxy's X-Forwarded-For is kept and appended to; X-Real-IP is kept
    // too (the peer is trusted), and nothing else is invented.
    'GET /users -> 200 /app/users x-forwarded-for=forged, 203.0.113.7, 127.0.0.1 x-real-ip=10.0.0.1 x-forwarded-prefix=- (sets the affinity cookie)',
    'GET /static/../users/7 -> 200 /app/users/7 x-forwarded-for=127.0.0.1 x-real-ip=- x-forwarded-prefix=- (sets the affinity cookie)',
    'GET /../admin -> 400 400 Bad Request: the path climbs above the root',
    'done',
  ]);
});
