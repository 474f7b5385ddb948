import diagnostics from 'node:diagnostics_channel';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { HealthMonitor } from '../../src/health/index.js';
import { createProxyHandler, httpCheck } from '../../src/http/index.js';
import { redactText, redactUrl } from '../../src/pool/credentials.js';
import { Pool } from '../../src/pool/pool.js';
import type { StateChangeEvent } from '../../src/pool/types.js';
import { RoundRobin } from '../../src/selectors/round-robin.js';

/**
 * `http://user:secret@host` put the password into the endpoint id and `snapshot()`, and
 * from there into logs, the dashboard and metrics. Ids, `url`, snapshots, events and error
 * messages now carry `http://user:***@host`; only `parsedUrl` (not serialised) keeps it.
 */
describe('credentials in endpoint URLs never leak', () => {
  const SECRET = 's3cr3t-Pa55';

  it('redacts the id, url, snapshot and events; parsedUrl keeps the credentials', () => {
    const pool = new Pool({ endpoints: [`http://user:${SECRET}@127.0.0.1:9001/base`] });
    const events: StateChangeEvent[] = [];
    pool.onStateChange((e) => events.push(e));
    pool.add(`https://tok3n-${SECRET}@127.0.0.1:9002`);
    pool.add({ url: `redis://:${SECRET}@127.0.0.1:6379`, weight: 2 });
    expect(pool.endpoints.map((e) => e.id)).toEqual([
      'http://user:***@127.0.0.1:9001/base',
      'https://***@127.0.0.1:9002',
      'redis://:***@127.0.0.1:6379',
    ]);
    expect(pool.endpoints.map((e) => e.url)).toEqual(pool.endpoints.map((e) => e.id));
    const [first, second, third] = pool.endpoints;
    expect(first!.parsedUrl.password).toBe(SECRET);
    expect(first!.parsedUrl.username).toBe('user');
    expect(second!.parsedUrl.username).toBe(`tok3n-${SECRET}`);
    expect(third!.parsedUrl.password).toBe(SECRET);

    pool.setHealth(first!.id, false);
    pool.remove(third!.id);
    expect(events.length).toBeGreaterThanOrEqual(4);
    const shown = [
      JSON.stringify(pool.snapshot()),
      JSON.stringify(events),
      JSON.stringify(pool.endpoints),
      inspect(events, { depth: 5 }),
      inspect(pool.endpoints, { depth: 5 }),
      inspect(pool.snapshot(), { depth: 5 }),
      events.map((e) => `${e.endpoint.id} ${e.endpoint.url}`).join('\n'),
    ].join('\n');
    expect(shown).not.toContain(SECRET);
    expect(shown).toContain('http://user:***@127.0.0.1:9001/base');
  });

  it('keeps setEndpoints diffing by the same (redacted) id', () => {
    const url = `http://user:${SECRET}@127.0.0.1:9001`;
    const pool = new Pool({ endpoints: [url] });
    pool.setHealth('http://user:***@127.0.0.1:9001', false);
    pool.setEndpoints([url, 'http://127.0.0.1:9002']);
    expect(pool.get('http://user:***@127.0.0.1:9001')!.state).toBe('unhealthy');
  });

  it('a new password for the same endpoint updates parsedUrl, not the id', () => {
    const pool = new Pool({ endpoints: ['http://user:old@127.0.0.1:9001'] });
    pool.setEndpoints(['http://user:new@127.0.0.1:9001']);
    expect(pool.endpoints).toHaveLength(1);
    expect(pool.endpoints[0]!.parsedUrl.password).toBe('new');
  });

  it('errors about endpoints quote the redacted form', () => {
    const messages: string[] = [];
    for (const bad of [
      () => new Pool({ endpoints: [`http://user:${SECRET}@[::1`] }),
      () =>
        new Pool({
          endpoints: [`http://u:${SECRET}@127.0.0.1:1`, `http://u:${SECRET}@127.0.0.1:1/`],
        }),
      () => new Pool({ endpoints: [{ url: `http://u:${SECRET}@127.0.0.1:1`, weight: -1 }] }),
      () => new Pool({ endpoints: [{ url: `http://u:${SECRET}@127.0.0.1:1`, priority: 0.5 }] }),
      () =>
        new Pool({ endpoints: [{ url: `http://u:${SECRET}@127.0.0.1:1`, metadata: 1 as never }] }),
    ]) {
      try {
        bad();
        messages.push('did not throw');
      } catch (error) {
        messages.push((error as Error).message);
      }
    }
    expect(messages).not.toContain('did not throw');
    for (const message of messages) {
      expect(message).not.toContain(SECRET);
      expect(message).toContain('***@');
    }
  });

  it("an explicit id is the caller's: kept as given", () => {
    const pool = new Pool({ endpoints: [{ id: 'app-1', url: `http://u:${SECRET}@127.0.0.1:1` }] });
    expect(pool.endpoints[0]!.id).toBe('app-1');
    expect(pool.endpoints[0]!.url).toBe('http://u:***@127.0.0.1:1');
  });

  it.each([
    ['http://127.0.0.1:1/', 'http://127.0.0.1:1/'],
    ['http://u:p@h/x?q#f', 'http://u:***@h/x?q#f'],
    ['http://u@h', 'http://***@h/'],
    ['http://:p@h', 'http://:***@h/'],
    ['http://u:p%40q@h', 'http://u:***@h/'],
  ])('redactUrl(%s) is %s', (given, redacted) => {
    expect(redactUrl(new URL(given)).href).toBe(redacted);
  });

  it('redactUrl returns a URL without credentials as is and never mutates its input', () => {
    const plain = new URL('http://h/');
    expect(redactUrl(plain)).toBe(plain);
    const secret = new URL('http://u:p@h/');
    redactUrl(secret);
    expect(secret.password).toBe('p');
  });

  it.each([
    ['http://u:p@[::1', 'http://***@[::1'],
    ['HTTP://u:p@q@h/p@x', 'HTTP://***@h/p@x'],
    ['no url at all', 'no url at all'],
    ['http://h/p@x', 'http://h/p@x'],
  ])('redactText(%s) is %s', (given, redacted) => {
    expect(redactText(given)).toBe(redacted);
  });
});

describe('credentials in endpoint URLs, through the proxy and the health monitor', () => {
  const SECRET = 'pr0xy-s3cret';

  async function listen(server: net.Server): Promise<number> {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  it('shows no password in retries, errors, answers or check events', async () => {
    const backend = http.createServer((_req, res) => res.end('ok'));
    const port = await listen(backend);
    const closed = net.createServer();
    const refusedPort = await listen(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const pool = new Pool({
      endpoints: [
        `http://user:${SECRET}@127.0.0.1:${refusedPort}`,
        `http://user:${SECRET}@127.0.0.1:${port}`,
      ],
      // In order from the first: the first request meets the refused endpoint and retries.
      selector: new RoundRobin({ random: () => 0 }),
      outlierDetection: false,
    });
    const seen: unknown[] = [];
    const record = (message: unknown) => seen.push(message);
    for (const name of [
      'switchyard:proxy:retry',
      'switchyard:proxy:error',
      'switchyard:proxy:response',
    ]) {
      diagnostics.subscribe(name, record);
      onTestFinished(() => {
        diagnostics.unsubscribe(name, record);
      });
    }
    const proxy = createProxyHandler(pool, {
      // Answers with the error's own message: what an application's error page might show.
      onError: (error, _req, res) => {
        seen.push(error);
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`${error.message} ${String((error as { cause?: unknown }).cause)}`);
      },
    });
    const server = http.createServer(proxy);
    const proxyPort = await listen(server);
    const monitor = new HealthMonitor(pool, {
      check: httpCheck({ path: '/' }),
      intervalMs: 60_000,
    });
    monitor.onCheck((event) => seen.push(event));
    onTestFinished(async () => {
      await monitor.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await proxy.close({ force: true });
      backend.closeAllConnections();
      await new Promise<void>((resolve) => backend.close(() => resolve()));
      await pool.close();
    });

    const answers: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`http://127.0.0.1:${proxyPort}/`);
      answers.push(`${res.status} ${JSON.stringify([...res.headers])} ${await res.text()}`);
    }
    await monitor.checkNow();
    pool.remove(pool.endpoints[0]!.id); // every try now fails: an error answer
    backend.closeAllConnections();
    await new Promise<void>((resolve) => backend.close(() => resolve()));
    const failed = await fetch(`http://127.0.0.1:${proxyPort}/`);
    answers.push(`${failed.status} ${await failed.text()}`);

    expect(seen.some((m) => (m as { reason?: string }).reason === 'connect')).toBe(true);
    expect(failed.status).toBe(502);
    const shown = [
      answers.join('\n'),
      inspect(seen, { depth: 6 }),
      seen.map((m) => (m instanceof Error ? `${m.message} ${m.stack}` : '')).join('\n'),
      JSON.stringify(seen, (_key, value) =>
        value instanceof http.IncomingMessage || value instanceof http.ServerResponse
          ? '[http]'
          : value,
      ),
    ].join('\n');
    expect(shown).not.toContain(SECRET);
    expect(shown).toContain('http://user:***@127.0.0.1');
  });
});
