import { type Dispatcher, request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createBalancedDispatcher } from '../../../../src/http/index.js';
import { normalizePath } from '../../../../src/http/shared/request-target.js';
import {
  failOnProcessProblems,
  makePool,
  namedBackend,
  rawExchange,
  startProxy,
} from '../../proxy-support.js';

// Security class: with endpoint `http://h/public`, `GET /../secret`, `/%2e%2e/secret`,
// `/..%2fsecret` and `/a/../../secret` reached the backend as `/public/../secret` and so
// on, which the backend's URL parser resolves to `/secret`: out of the endpoint's prefix.

failOnProcessProblems();

const CLIMBING = [
  '/../secret',
  '/%2e%2e/secret',
  '/%2E%2E/secret',
  '/.%2E/secret',
  '/..%2fsecret',
  '/..%2Fsecret',
  '/..%5csecret',
  '/a/../../secret',
  '/a/%2e%2e/%2e%2e/secret',
  '/a/..%2f..%2fsecret',
  '/..',
  '/../secret?q=1',
];

const HARMLESS: ReadonlyArray<readonly [string, string]> = [
  ['/a/../file', '/file'],
  ['/a/./b', '/a/b'],
  ['/a/%2e/b', '/a/b'],
  ['/a/b/..', '/a/'],
  ['/a/b/../', '/a/'],
  ['/./', '/'],
  ['/a/..%2fb', '/b'],
  ['/a/../f?x=/../..', '/f?x=/../..'],
  ['/file.txt', '/file.txt'],
  ['/.well-known/x', '/.well-known/x'],
  ['/a..b/..c', '/a..b/..c'],
  ['/a%2fb', '/a%2fb'],
];

function get(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n\r\n`;
}

describe('dot segments', () => {
  it('are resolved as NGINX does, and climbing above the root is refused', () => {
    for (const path of CLIMBING) expect(normalizePath(path), path).toBeUndefined();
    for (const [path, resolved] of HARMLESS) expect(normalizePath(path), path).toBe(resolved);
  });

  it('that climb out of the endpoint path prefix get 400 and blame no endpoint', async () => {
    const a = await namedBackend('a');
    const pool = makePool([`${a.url}/public`], { outlierDetection: { consecutiveFailures: 1 } });
    const { port } = await startProxy(pool);
    for (const path of CLIMBING) {
      const answer = await rawExchange(port, get(path));
      expect(answer, path).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer).toContain('the path climbs above the root');
    }
    expect(a.requests).toHaveLength(0);
    expect(pool.snapshot().totals.failures).toBe(0);
    expect(pool.snapshot().totals.requests).toBe(0);
  });

  it('that stay inside are normalised under the prefix', async () => {
    const a = await namedBackend('a');
    const { port } = await startProxy(makePool([`${a.url}/public`]));
    for (const [path] of HARMLESS) {
      expect(await rawExchange(port, get(path))).toMatch(/^HTTP\/1\.1 200 /);
    }
    expect(a.requests.map((r) => r.url)).toEqual(
      HARMLESS.map(([, resolved]) => `/public${resolved}`),
    );
  });

  it('that climb are refused on the upgrade path too', async () => {
    const a = await namedBackend('a');
    const { port } = await startProxy(makePool([`${a.url}/public`]));
    const answer = await rawExchange(
      port,
      'GET /ws/../../secret HTTP/1.1\r\nHost: proxy.test\r\nConnection: Upgrade\r\n' +
        'Upgrade: websocket\r\nSec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(a.requests).toHaveLength(0);
  });

  it('that climb are refused by the balanced dispatcher as the caller’s error', async () => {
    const a = await namedBackend('a');
    const pool = makePool([`${a.url}/public`]);
    const dispatcher = createBalancedDispatcher(pool);
    onTestFinished(() => dispatcher.destroy());
    // undici's own APIs resolve dot segments first; a raw dispatch is refused.
    const error = await new Promise<Error>((resolve) => {
      dispatcher.dispatch(
        { origin: 'http://service.internal', path: '/a/../../secret', method: 'GET' },
        {
          onRequestStart() {},
          onResponseError: (_controller, e) => resolve(e),
        } as Dispatcher.DispatchHandler,
      );
    });
    expect(error).toMatchObject({ code: 'UND_ERR_INVALID_ARG' });
    expect(error.message).toMatch(/climb above the root/);
    expect(a.requests).toHaveLength(0);
    const res = await request('http://service.internal/a/../b', { dispatcher });
    await res.body.text();
    expect(a.requests.map((r) => r.url)).toEqual(['/public/b']);
    expect(pool.snapshot().totals.failures).toBe(0);
  });
});
