import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isHealthCheckError } from '../../src/errors.js';
import { HealthMonitor } from '../../src/index.js';
import { type TcpCheckOptions, tcpCheck } from '../../src/tcp/index.js';
import { FakePool } from '../health/fake-pool.js';

async function listen(
  onSocket: (socket: Socket) => void,
  port = 0,
): Promise<{ server: Server; port: number }> {
  const server = createServer(onSocket);
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    if (server.listening) await new Promise((resolve) => server.close(resolve));
  };
  onTestFinished(close);
  return {
    server: Object.assign(server, { shutdown: close }),
    port: (server.address() as AddressInfo).port,
  };
}

/** A loopback port with nothing listening: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const run = (
  check: ReturnType<typeof tcpCheck>,
  url: string,
  signal = new AbortController().signal,
) => check(FakePool.endpoint(url), signal);

describe('tcpCheck', () => {
  it('passes once connected, and fails on a refused port', async () => {
    let accepted = 0;
    const { port } = await listen((socket) => {
      accepted++;
      socket.on('error', () => {});
    });
    await expect(run(tcpCheck(), `tcp://127.0.0.1:${port}`)).resolves.toBeUndefined();
    expect(accepted).toBe(1);
    const refused = await closedPort();
    await expect(run(tcpCheck(), `tcp://127.0.0.1:${refused}`)).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });

  it('sends bytes and expects an answer by string or RegExp', async () => {
    const { port } = await listen((socket) => {
      socket.on('error', () => {});
      socket.on('data', (data) => {
        if (String(data) === 'PING\r\n') socket.write('+PO');
        setTimeout(() => socket.write('NG\r\n'), 5);
      });
    });
    const url = `tcp://127.0.0.1:${port}`;
    await expect(
      run(tcpCheck({ send: 'PING\r\n', expect: '+PONG' }), url),
    ).resolves.toBeUndefined();
    await expect(
      run(tcpCheck({ send: new TextEncoder().encode('PING\r\n'), expect: /^\+PONG\r\n$/g }), url),
    ).resolves.toBeUndefined();
  });

  it('fails when the connection closes before the expected answer, or the answer is too long', async () => {
    const { port } = await listen((socket) => {
      socket.on('error', () => {});
      socket.end('-ERR nope\r\n');
    });
    const url = `tcp://127.0.0.1:${port}`;
    const error = await run(tcpCheck({ expect: '+PONG' }), url).catch((e: unknown) => e);
    expect(isHealthCheckError(error)).toBe(true);
    expect(String(error)).toMatch(/127\.0\.0\.1:\d+: connection closed before receiving "\+PONG"/);
    await expect(run(tcpCheck({ expect: 'PONG', maxBytes: 4 }), url)).rejects.toThrow(
      /no "PONG" in the first 4 bytes/,
    );
  });

  it('ends a hanging check when its signal aborts', async () => {
    let closed = 0;
    const { port } = await listen((socket) => {
      socket.on('error', () => {});
      socket.on('close', () => closed++);
    });
    const controller = new AbortController();
    const pending = run(
      tcpCheck({ expect: 'hello' }),
      `tcp://127.0.0.1:${port}`,
      controller.signal,
    );
    setTimeout(() => controller.abort(new Error('deadline')), 20);
    await expect(pending).rejects.toThrow(/deadline/);
    await expect(run(tcpCheck(), `tcp://127.0.0.1:${port}`, controller.signal)).rejects.toThrow(
      /deadline/,
    );
    await expect.poll(() => closed).toBe(1);
  });

  it('uses the port option, and 80/443 for http(s) URLs without a port', async () => {
    const { port } = await listen((socket) => socket.on('error', () => {}));
    await expect(run(tcpCheck({ port }), 'http://127.0.0.1:1')).resolves.toBeUndefined();
    await expect(run(tcpCheck(), 'tcp://127.0.0.1')).rejects.toThrow(
      /tcpCheck needs a host and a port in the endpoint URL, got "tcp:\/\/127\.0\.0\.1"/,
    );
  });

  it('drives a HealthMonitor: out after exactly unhealthyThreshold failures, back after exactly healthyThreshold passes', async () => {
    const first = await listen((socket) => socket.on('error', () => {}));
    const url = `tcp://127.0.0.1:${first.port}`;
    const pool = new FakePool([url]);
    const monitor = new HealthMonitor(pool, {
      check: tcpCheck(),
      unhealthyThreshold: 3,
      healthyThreshold: 2,
    });
    onTestFinished(() => monitor.stop());
    const results: boolean[] = [];
    monitor.onCheck((e) => results.push(e.ok));
    await monitor.checkNow();
    await (first.server as Server & { shutdown(): Promise<void> }).shutdown();
    for (let i = 0; i < 2; i++) await monitor.checkNow();
    expect(pool.calls).toEqual([]);
    await monitor.checkNow();
    expect(pool.calls.map((c) => c.healthy)).toEqual([false]);
    expect(pool.get(url).state).toBe('unhealthy');
    await listen((socket) => socket.on('error', () => {}), first.port);
    await monitor.checkNow();
    expect(pool.calls.map((c) => c.healthy)).toEqual([false]);
    await monitor.checkNow();
    expect(pool.calls.map((c) => c.healthy)).toEqual([false, true]);
    expect(results).toEqual([true, false, false, false, true, true]);
  });
});

describe('tcpCheck bad input', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['port', 0, /port must be an integer >= 1 and <= 65535, got 0/],
    ['port', 70_000, /port must be .* got 70000/],
    ['port', '80', /port must be .* got "80"/],
    ['send', '', /send must be a non-empty string or Uint8Array, got ""/],
    ['send', 5, /send must be .* got 5/],
    ['expect', '', /expect must be a non-empty string or a RegExp, got ""/],
    ['expect', {}, /expect must be .* got \{\}/],
    ['maxBytes', 0, /maxBytes must be an integer >= 1, got 0/],
  ];
  for (const [name, value, message] of cases) {
    it(`rejects ${name} = ${JSON.stringify(value)}`, () => {
      expect(() => tcpCheck({ [name]: value } as TcpCheckOptions)).toThrow(message);
    });
  }

  it('rejects unknown options', () => {
    expect(() => tcpCheck({ host: 'x' } as unknown as TcpCheckOptions)).toThrow(
      /tcpCheck got an unknown option "host"/,
    );
  });
});
