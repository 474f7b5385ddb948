import diagnostics from 'node:diagnostics_channel';
import net from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isUpstreamTimeoutError, isUpstreamUnavailableError } from '../../src/errors.js';
import { Pool } from '../../src/pool/pool.js';
import type {
  TcpCloseMessage,
  TcpConnectMessage,
  TcpFailoverMessage,
} from '../../src/tcp/index.js';
import { FirstAvailable, failOnProcessProblems } from '../http/proxy-support.js';
import {
  blackholeTcpUrl,
  dial,
  echoBackend,
  eventually,
  receive,
  refusedTcpUrl,
  startTcpProxy,
  tcpBackend,
  tcpPool,
} from './support.js';

failOnProcessProblems();

function record<T>(name: string): T[] {
  const messages: T[] = [];
  const listener = (message: unknown) => messages.push(message as T);
  diagnostics.subscribe(name, listener);
  onTestFinished(() => {
    diagnostics.unsubscribe(name, listener);
  });
  return messages;
}

async function roundTrip(port: number, text: string): Promise<{ data: string; how: string }> {
  const client = await dial(port);
  const got = receive(client);
  client.end(text);
  const { data, how } = await got;
  return { data: data.toString(), how };
}

describe('createTcpProxy: connect failover', () => {
  it('moves a refused connection to the next endpoint and blames only the refusing one', async () => {
    const refused = await refusedTcpUrl();
    const backend = await echoBackend();
    const pool = tcpPool([refused, backend.url], { selector: new FirstAvailable() });
    const failovers = record<TcpFailoverMessage>('switchyard:tcp:failover');
    const connects = record<TcpConnectMessage>('switchyard:tcp:connect');
    const closes = record<TcpCloseMessage>('switchyard:tcp:close');
    const { port } = await startTcpProxy(pool);
    expect(await roundTrip(port, 'ping')).toEqual({ data: 'ping', how: 'end' });
    expect(failovers).toHaveLength(1);
    expect(failovers[0]).toMatchObject({ attempt: 1, reason: 'ECONNREFUSED' });
    expect(failovers[0]!.endpoint.url).toBe(refused);
    expect(connects).toHaveLength(1);
    expect(connects[0]).toMatchObject({ attempts: 2 });
    expect(connects[0]!.endpoint.url).toBe(backend.url);
    await eventually(() => closes.length === 1);
    expect(closes[0]).toMatchObject({ reason: 'end', bytesIn: 4, bytesOut: 4, error: undefined });
    const [bad, good] = pool.snapshot().endpoints;
    expect(bad).toMatchObject({ failures: 1, successes: 0, inflight: 0 });
    expect(good).toMatchObject({ failures: 0, successes: 1, inflight: 0 });
  });

  it('moves on after the connect timeout, sampling the timeout as latency', async () => {
    const blackhole = await blackholeTcpUrl();
    const backend = await echoBackend();
    const pool = tcpPool([blackhole, backend.url], { selector: new FirstAvailable() });
    const failovers = record<TcpFailoverMessage>('switchyard:tcp:failover');
    const { port } = await startTcpProxy(pool, { connectTimeoutMs: 150 });
    const started = Date.now();
    expect(await roundTrip(port, 'slow start')).toEqual({ data: 'slow start', how: 'end' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(failovers).toHaveLength(1);
    expect(failovers[0]!.reason).toBe('timeout');
    expect(isUpstreamTimeoutError(failovers[0]!.error)).toBe(true);
    const [slow] = pool.snapshot().endpoints;
    expect(slow).toMatchObject({ failures: 1, inflight: 0 });
    expect(slow!.latency).toBeGreaterThanOrEqual(140);
  });

  it('tries each endpoint once, at most `attempts` times, then resets the client', async () => {
    const urls = [await refusedTcpUrl(), await refusedTcpUrl(), await refusedTcpUrl()];
    const pool = tcpPool(urls);
    const failovers = record<TcpFailoverMessage>('switchyard:tcp:failover');
    const closes = record<TcpCloseMessage>('switchyard:tcp:close');
    const { port } = await startTcpProxy(pool, { attempts: 2 });
    const { how } = await roundTrip(port, 'anyone?');
    expect(['ECONNRESET', 'end', 'close']).toContain(how);
    await eventually(() => closes.length === 1);
    expect(closes[0]!.reason).toBe('connect-failed');
    expect(isUpstreamUnavailableError(closes[0]!.error)).toBe(true);
    expect(failovers.map((f) => f.endpoint.url)).toEqual([urls[0]]);
    expect(pool.snapshot().totals).toMatchObject({ failures: 2, inflight: 0 });

    // attempts above the endpoint count: each endpoint is still tried once.
    const all = tcpPool(urls);
    const { port: port2 } = await startTcpProxy(all, { attempts: 10 });
    await roundTrip(port2, 'anyone?');
    await eventually(() => all.snapshot().totals.inflight === 0 && closes.length === 2);
    expect(all.snapshot().endpoints.map((e) => e.failures)).toEqual([1, 1, 1]);
  });

  it('resets the client when no endpoint is eligible', async () => {
    const backend = await echoBackend();
    const pool = tcpPool([backend.url]);
    pool.remove(backend.url);
    const closes = record<TcpCloseMessage>('switchyard:tcp:close');
    const { port } = await startTcpProxy(pool);
    // The reset can come before the client even sees its connect complete.
    const client = net.connect(port, '127.0.0.1');
    const { data, how } = await receive(client);
    expect(data.length).toBe(0);
    expect(how).not.toBe('end');
    await eventually(() => closes.length === 1);
    expect(closes[0]).toMatchObject({ reason: 'no-endpoint', endpoint: undefined });
    expect((closes[0]!.error as { code?: string }).code).toBe('ERR_NO_ENDPOINT');
    expect(backend.accepted()).toBe(0);
  });

  it('does not move a connection that reached its upstream and was reset', async () => {
    const resetting = await tcpBackend((socket) =>
      socket.once('data', () => socket.resetAndDestroy()),
    );
    const backend = await echoBackend();
    const pool = tcpPool([resetting.url, backend.url], { selector: new FirstAvailable() });
    const { port } = await startTcpProxy(pool);
    const { how } = await roundTrip(port, 'data');
    expect(how).not.toBe('end');
    expect(backend.accepted()).toBe(0);
    await eventually(() => pool.snapshot().totals.inflight === 0);
    // Connected, so released as a success: only connect failures count against an endpoint.
    expect(pool.snapshot().endpoints[0]).toMatchObject({ successes: 1, failures: 0 });
  });

  it('holds the lease for the connection and samples the connect time as latency', async () => {
    const backend = await echoBackend();
    let now = 1_000;
    const pool = new Pool({ endpoints: [backend.url], now: () => now, outlierDetection: false });
    onTestFinished(() => pool.close());
    const { port } = await startTcpProxy(pool);
    const client = await dial(port);
    await eventually(() => backend.sockets.size === 1);
    expect(pool.snapshot().totals.inflight).toBe(1);
    now += 60_000; // a long-lived connection …
    const got = receive(client);
    client.end('bye');
    await got;
    await eventually(() => pool.snapshot().totals.inflight === 0);
    // … whose duration is not the endpoint's latency.
    expect(pool.snapshot().endpoints[0]!.latency).toBeLessThan(1_000);
  });
});
