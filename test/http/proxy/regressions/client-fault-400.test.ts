import http from 'node:http';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isBadRequestError } from '../../../../src/errors.js';
import { createProxyHandler, type ProxyOptions } from '../../../../src/http/index.js';
import type { Pool } from '../../../../src/pool/pool.js';
import {
  closeServer,
  failOnProcessProblems,
  listen,
  makePool,
  namedBackend,
  rawExchange,
} from '../../proxy-support.js';
import { upgradeBackend } from '../upgrade-support.js';

// Bug class: a request the upstream client refuses was blamed on the endpoint. With
// `insecureHTTPParser: true` on the server, a header value holding a control byte got
// `502 … UND_ERR_INVALID_ARG` and counted as an endpoint failure: five ejected a healthy one.

failOnProcessProblems();

/** A proxy on a server that lets control bytes through in header values. */
async function lenientProxy(pool: Pool, options?: ProxyOptions): Promise<number> {
  const proxy = createProxyHandler(pool, options);
  const server = http.createServer({ insecureHTTPParser: true }, proxy);
  server.on('upgrade', proxy.upgrade);
  const port = await listen(server);
  onTestFinished(async () => {
    await closeServer(server);
    await proxy.close({ force: true });
  });
  return port;
}

const CONTROL = 'GET /x HTTP/1.1\r\nHost: proxy.test\r\nX-Bad: a\x01b\r\nConnection: close\r\n\r\n';

describe('a request the upstream client refuses', () => {
  it('is answered 400 and counts against no endpoint', async () => {
    const a = await namedBackend('a');
    const pool = makePool([a.url], {
      outlierDetection: { consecutiveFailures: 2, maxEjectionPercent: 100 },
    });
    const errors: Error[] = [];
    const port = await lenientProxy(pool, {
      onError: (error, _req, res) => {
        errors.push(error);
        res.writeHead(400).end('refused');
      },
    });
    for (let i = 0; i < 6; i++)
      expect(await rawExchange(port, CONTROL)).toMatch(/^HTTP\/1\.1 400 /);
    expect(errors).toHaveLength(6);
    expect(isBadRequestError(errors[0])).toBe(true);
    expect((errors[0]!.cause as { code?: string }).code).toBe('UND_ERR_INVALID_ARG');
    const snapshot = pool.snapshot();
    expect(snapshot.totals.failures).toBe(0);
    expect(snapshot.totals.inflight).toBe(0);
    expect(snapshot.endpoints[0]!.state).toBe('healthy');
    expect(a.requests).toHaveLength(0);
    // And the endpoint still serves.
    expect(
      await rawExchange(port, 'GET /ok HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n\r\n'),
    ).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('is answered 400 on the upgrade path too', async () => {
    const backend = await upgradeBackend('a');
    const pool = makePool([backend.url]);
    const port = await lenientProxy(pool);
    const answer = await rawExchange(
      port,
      'GET /ws HTTP/1.1\r\nHost: proxy.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\nX-Bad: a\x01b\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(pool.snapshot().totals.failures).toBe(0);
    expect(pool.snapshot().totals.inflight).toBe(0);
    expect(backend.upgrades).toHaveLength(0);
  });
});
