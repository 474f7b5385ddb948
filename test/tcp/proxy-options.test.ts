import diagnostics from 'node:diagnostics_channel';
import net, { type Server } from 'node:net';
import { describe, expect, expectTypeOf, it, onTestFinished } from 'vitest';
import { isUnsupportedEndpointError } from '../../src/errors.js';
import { Pool } from '../../src/pool/pool.js';
import {
  createTcpProxy,
  DEFAULT_TCP_ATTEMPTS,
  DEFAULT_TCP_CONNECT_TIMEOUT_MS,
  DEFAULT_TCP_DRAIN_MS,
  DEFAULT_TCP_IDLE_TIMEOUT_MS,
  type TcpProxyOptions,
  type TcpProxyServer,
  type TcpUnsupportedEndpointMessage,
} from '../../src/tcp/index.js';
import { clientAddress } from '../../src/tcp/tcp-target.js';
import { redactCredentials } from '../../src/validate.js';
import { failOnProcessProblems } from '../http/proxy-support.js';
import { dial, echoBackend, listenOn, receive, startTcpProxy, tcpPool } from './support.js';

failOnProcessProblems();

function pool(endpoints: string[] = ['tcp://127.0.0.1:1']): Pool {
  const p = new Pool({ endpoints });
  onTestFinished(() => p.close());
  return p;
}

describe('createTcpProxy: options', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_TCP_CONNECT_TIMEOUT_MS).toBe(2_000);
    expect(DEFAULT_TCP_ATTEMPTS).toBe(3);
    expect(DEFAULT_TCP_IDLE_TIMEOUT_MS).toBe(300_000);
    expect(DEFAULT_TCP_DRAIN_MS).toBe(30_000);
  });

  const bad: Array<[string, unknown, RegExp, ErrorConstructor]> = [
    ['connectTimeoutMs', -1, /^connectTimeoutMs must be .* got -1$/, RangeError],
    ['connectTimeoutMs', Number.NaN, /^connectTimeoutMs must be .* got NaN$/, RangeError],
    ['connectTimeoutMs', '2000', /^connectTimeoutMs must be .* got "2000"$/, TypeError],
    [
      'connectTimeoutMs',
      2 ** 31,
      /^connectTimeoutMs must be .*<= 2147483647, got 2147483648$/,
      RangeError,
    ],
    ['attempts', 0, /^attempts must be an integer >= 1 .* got 0$/, RangeError],
    ['attempts', 1.5, /^attempts must be an integer .* got 1.5$/, RangeError],
    ['attempts', Number.POSITIVE_INFINITY, /^attempts must be .* got Infinity$/, RangeError],
    ['idleTimeoutMs', -5, /^idleTimeoutMs must be .* got -5$/, RangeError],
    ['idleTimeoutMs', null, /^idleTimeoutMs must be .* got null$/, TypeError],
    ['proxyProtocol', 'v3', /^proxyProtocol must be false, "v1" or "v2", got "v3"$/, TypeError],
    ['proxyProtocol', true, /^proxyProtocol must be .* got true$/, TypeError],
    ['affinity', { by: 'cookie' }, /^affinity.by must be "ip", got "cookie"$/, TypeError],
    ['affinity', 'ip', /^affinity options must be an object, got "ip"$/, TypeError],
    ['affinity', { by: 'ip', extra: 1 }, /unknown option "extra"/, TypeError],
  ];
  for (const [name, value, message, type] of bad) {
    it(`rejects ${name}: ${String(value)}`, () => {
      const options = { [name]: value } as TcpProxyOptions;
      expect(() => createTcpProxy(pool(), options)).toThrow(type);
      expect(() => createTcpProxy(pool(), options)).toThrow(message);
    });
  }

  it('rejects unknown options and a missing pool', () => {
    expect(() => createTcpProxy(pool(), { connectTimeout: 5 } as TcpProxyOptions)).toThrow(
      /createTcpProxy got an unknown option "connectTimeout"; known options are/,
    );
    expect(() => createTcpProxy(null as unknown as Pool)).toThrow(
      'createTcpProxy needs a Pool as its first argument',
    );
  });

  it('rejects bad close options, naming them', async () => {
    const server = createTcpProxy(pool());
    expect(() => server.close({ drainMs: -1 })).toThrow(/^drainMs must be .* got -1$/);
    expect(() => server.close({ drain: 1 } as never)).toThrow(/unknown option "drain"/);
    await server.close({ drainMs: Number.POSITIVE_INFINITY });
  });

  it('has the public types', () => {
    expectTypeOf(createTcpProxy).returns.toEqualTypeOf<TcpProxyServer>();
    expectTypeOf<TcpProxyServer['close']>().returns.toEqualTypeOf<Promise<void>>();
    expectTypeOf<TcpProxyServer['listen']>().toBeFunction();
  });
});

describe('createTcpProxy: endpoints', () => {
  it('refuses an endpoint it cannot connect to, naming it with credentials redacted', () => {
    const cases: Array<[string, RegExp]> = [
      [
        'ftp://user:secret@127.0.0.1:2121',
        /^createTcpProxy cannot connect to endpoint "ftp:\/\/\*\*\*@127\.0\.0\.1:2121": its scheme "ftp:" is not tcp: or http:/,
      ],
      ['https://127.0.0.1:8443', /endpoint "https:\/\/127\.0\.0\.1:8443": its scheme "https:"/],
      ['tcp://127.0.0.1', /endpoint "tcp:\/\/127\.0\.0\.1": it has no port/],
      ['localhost:80', /endpoint "localhost:80": its scheme "localhost:"/],
    ];
    for (const [url, message] of cases) {
      let thrown: unknown;
      try {
        createTcpProxy(pool(['tcp://127.0.0.1:9', url]));
      } catch (error) {
        thrown = error;
      }
      expect(isUnsupportedEndpointError(thrown), url).toBe(true);
      expect((thrown as Error).message).toMatch(message);
      expect((thrown as Error).message).not.toContain('secret');
    }
    const custom = new Pool({ endpoints: [{ id: 'db', url: 'tcp://admin:hunter2@127.0.0.1' }] });
    onTestFinished(() => custom.close());
    expect(() => createTcpProxy(custom)).toThrow(
      'createTcpProxy cannot connect to endpoint "db" (tcp://***@127.0.0.1): it has no port',
    );
  });

  it('connects to http:// endpoints and IPv6 literals', async () => {
    const backend = await echoBackend();
    const p = tcpPool([`http://127.0.0.1:${backend.port}`]);
    const { port } = await startTcpProxy(p);
    const client = await dial(port);
    const got = receive(client);
    client.end('via http://');
    expect((await got).data.toString()).toBe('via http://');

    const six = net.createServer({ allowHalfOpen: true }, (socket) => socket.pipe(socket));
    const sixPort = await listenOn(six, '::1');
    onTestFinished(() => new Promise<void>((resolve) => six.close(() => resolve())));
    const q = tcpPool([`tcp://[::1]:${sixPort}`]);
    const { port: port6 } = await startTcpProxy(q);
    const client6 = await dial(port6);
    const got6 = receive(client6);
    client6.end('to [::1]');
    expect((await got6).data.toString()).toBe('to [::1]');
  });

  it('never uses an endpoint with a bad scheme that joins later, and reports it once', async () => {
    const backend = await echoBackend();
    const p = tcpPool([backend.url]);
    const reported: TcpUnsupportedEndpointMessage[] = [];
    const listener = (message: unknown) => reported.push(message as TcpUnsupportedEndpointMessage);
    diagnostics.subscribe('switchyard:tcp:unsupported-endpoint', listener);
    onTestFinished(() => {
      diagnostics.unsubscribe('switchyard:tcp:unsupported-endpoint', listener);
    });
    const { port } = await startTcpProxy(p);
    p.add('ftp://user:pw@127.0.0.1:2121');
    for (let i = 0; i < 4; i++) {
      const client = await dial(port);
      const got = receive(client);
      client.end(`n${i}`);
      expect((await got).data.toString()).toBe(`n${i}`);
    }
    expect(reported).toHaveLength(1);
    expect(reported[0]!.endpoint.id).toBe('ftp://user:***@127.0.0.1:2121');
    expect(reported[0]!.error.code).toBe('ERR_UNSUPPORTED_ENDPOINT');
    expect(reported[0]!.error.message).toMatch(/endpoint "ftp:\/\/\*\*\*@127\.0\.0\.1:2121"/);
    expect(reported[0]!.error.message).not.toContain(':pw@');
    expect(p.get('ftp://user:***@127.0.0.1:2121')).toMatchObject({ requests: 0 });
  });

  it('unmaps IPv4-mapped client addresses and redacts URLs', () => {
    expect(clientAddress('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(clientAddress('::ffff:a01:203')).toBe('::ffff:a01:203');
    expect(clientAddress('2001:db8::1')).toBe('2001:db8::1');
    expect(clientAddress('10.1.2.3')).toBe('10.1.2.3');
    expect(clientAddress(undefined)).toBeUndefined();
    expect(redactCredentials('tcp://u:p@h:1')).toBe('tcp://***@h:1');
    expect(redactCredentials('tcp://h:1')).toBe('tcp://h:1');
  });

  it('listens like any net.Server', async () => {
    const server = createTcpProxy(pool());
    onTestFinished(() => server.close({ drainMs: 0 }));
    const port = await listenOn(server as unknown as Server);
    expect(port).toBeGreaterThan(0);
    expect(server.listening).toBe(true);
  });
});
