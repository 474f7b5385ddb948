import { request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createBalancedDispatcher, createProxyHandler } from '../../../src/http/index.js';
import type { Logger } from '../../../src/logger.js';
import {
  FirstAvailable,
  failOnProcessProblems,
  makePool,
  namedBackend,
  rawExchange,
  refusedUrl,
  send,
  startProxy,
} from '../proxy-support.js';

failOnProcessProblems();

interface Line {
  level: 'debug' | 'info' | 'warn' | 'error';
  fields: Record<string, unknown>;
  message: string;
}

function recorder(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  const at =
    (level: Line['level']) =>
    (fields: object, message: string): void => {
      lines.push({ level, fields: fields as Record<string, unknown>, message });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('logger', () => {
  it('the proxy tells of failed tries (warn) and of its own 502 (warn) and 503 (error)', async () => {
    const dead = await refusedUrl();
    const b = await namedBackend('b');
    const pool = makePool([dead, b.url], { selector: new FirstAvailable() });
    const logger = recorder();
    const { url } = await startProxy(pool, { logger });
    expect((await send(url)).body).toBe('b');
    expect(logger.lines).toHaveLength(1);
    expect(logger.lines[0]).toMatchObject({
      level: 'warn',
      fields: { endpoint: dead, attempt: 1, reason: 'connect', retrying: true },
    });
    expect(logger.lines[0]!.message).toMatch(
      /^try 1 on http:\/\/127\.0\.0\.1:\d+ failed \(connect: .*\); retrying on another endpoint$/,
    );

    const alone = makePool([dead]);
    const lonely = await startProxy(alone, { logger, retry: { attempts: 1 } });
    logger.lines.length = 0;
    expect((await send(lonely.url, { path: '/x' })).status).toBe(502);
    expect(logger.lines.map((l) => l.level)).toEqual(['warn', 'warn']);
    expect(logger.lines[1]).toMatchObject({ fields: { status: 502, method: 'GET', url: '/x' } });
    expect(logger.lines[1]!.message).toMatch(/^proxy answered 502: /);

    alone.remove(dead);
    logger.lines.length = 0;
    expect((await send(lonely.url)).status).toBe(503);
    expect(logger.lines).toMatchObject([{ level: 'error', fields: { status: 503 } }]);
    // Closing is no incident: its 503s are not logged.
    await lonely.proxy.close();
    logger.lines.length = 0;
    expect((await send(lonely.url)).status).toBe(503);
    expect(logger.lines).toEqual([]);
  });

  it('tells (error) of a pool router or a hook that threw, answered 500', async () => {
    const a = await namedBackend('a');
    const pool = makePool([a.url]);
    const logger = recorder();
    const { url } = await startProxy(
      (req) => {
        if (req.url === '/nowhere') throw new Error('no route');
        return pool;
      },
      {
        logger,
        rewriteResponse: () => {
          throw new Error('hook broke');
        },
      },
    );
    expect((await send(url, { path: '/nowhere' })).status).toBe(500);
    expect((await send(url, { path: '/x' })).status).toBe(500);
    expect(logger.lines).toMatchObject([
      { level: 'error', fields: { status: 500, url: '/nowhere', attempts: 0 } },
      { level: 'error', fields: { status: 500, url: '/x', attempts: 1 } },
    ]);
    expect(logger.lines.map((l) => l.message)).toEqual([
      'proxy answered 500: no route',
      'proxy answered 500: hook broke',
    ]);
  });

  it('tells of an upgrade’s failed try and its 502', async () => {
    const dead = await refusedUrl();
    const logger = recorder();
    const { port } = await startProxy(makePool([dead]), { logger, retry: { attempts: 1 } });
    const answer = await rawExchange(
      port,
      'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 502 /);
    expect(
      logger.lines.map((l) => `${l.level} ${(l.fields as { status?: number }).status}`),
    ).toEqual(['warn undefined', 'warn 502']);
  });

  it('tells (warn) of an endpoint that joins and cannot be spoken to', async () => {
    const pool = makePool(['http://127.0.0.1:1']);
    const logger = recorder();
    const proxy = createProxyHandler(pool, { logger });
    onTestFinished(() => proxy.close());
    pool.add('ftp://user:pw@127.0.0.1:21');
    expect(logger.lines).toMatchObject([
      { level: 'warn', fields: { endpoint: 'ftp://***@127.0.0.1' } },
    ]);
    expect(logger.lines[0]!.message).toMatch(/scheme "ftp:" is not http: or https:/);
  });

  it('the balanced dispatcher tells of failed tries', async () => {
    const dead = await refusedUrl();
    const b = await namedBackend('b');
    const logger = recorder();
    const dispatcher = createBalancedDispatcher(
      makePool([dead, b.url], { selector: new FirstAvailable() }),
      {
        logger,
      },
    );
    onTestFinished(() => dispatcher.destroy());
    const res = await request('http://service/', { dispatcher });
    expect(await res.body.text()).toBe('b');
    expect(logger.lines).toMatchObject([
      { level: 'warn', fields: { endpoint: dead, reason: 'connect' } },
    ]);
  });

  it('is silent by default, and a logger without the four methods is refused', async () => {
    const pool = makePool(['http://127.0.0.1:1']);
    expect(() => createProxyHandler(pool, { logger: console.log as never })).toThrow(
      /logger must be a pino-compatible logger/,
    );
    expect(() => createBalancedDispatcher(pool, { logger: { warn() {} } as never })).toThrow(
      /it has no debug method/,
    );
  });
});
