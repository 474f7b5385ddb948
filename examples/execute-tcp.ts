/**
 * Failover for a protocol that is not HTTP: `pool.execute()` around a small TCP echo
 * client.
 *
 * Three echo servers listen on 127.0.0.1; the third is closed before any request, so
 * connecting to it is refused. Each request goes to an endpoint chosen by the pool; when
 * the connection fails, `execute` retries it on an endpoint not tried yet, and the pool's
 * outlier detection ejects the dead server after its first failure, so later requests
 * never try it again. The output ends with each endpoint's state.
 *
 * Run (in a clone, after `npm ci`): npm run example examples/execute-tcp.ts
 */
import { connect, createServer, type Server } from 'node:net';
import { Pool, type PoolEndpoint, RoundRobin } from 'switchyard';

/** Starts an echo server on 127.0.0.1 on a free port. */
async function echoServer(): Promise<Server> {
  const server = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening on TCP');
  return address.port;
}

/**
 * Sends one line to `endpoint` and resolves with the line echoed back. Honours `signal`:
 * aborting destroys the socket.
 */
function echo(endpoint: PoolEndpoint, message: string, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = endpoint.parsedUrl;
    const socket = connect({ host: hostname, port: Number(port) });
    let received = '';
    const fail = (error: Error): void => {
      socket.destroy();
      reject(error);
    };
    const onAbort = (): void => fail(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${message}\n`));
    socket.on('data', (chunk: string) => {
      received += chunk;
      const end = received.indexOf('\n');
      if (end >= 0) {
        signal.removeEventListener('abort', onAbort);
        socket.end();
        resolve(received.slice(0, end));
      }
    });
    socket.on('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      fail(error);
    });
  });
}

const servers = [await echoServer(), await echoServer(), await echoServer()];
const urls = servers.map((server) => `tcp://127.0.0.1:${portOf(server)}`);
// The third server goes away before the first request: connecting to it is refused.
await new Promise<void>((resolve) => servers[2]!.close(() => resolve()));
console.log(`echo servers: ${urls[0]}, ${urls[1]}, ${urls[2]} (closed)`);

const pool = new Pool({
  endpoints: urls,
  selector: new RoundRobin(),
  outlierDetection: { consecutiveFailures: 1, baseEjectionMs: 30_000 },
});

for (let i = 1; i <= 6; i++) {
  const failures: string[] = [];
  const { reply, endpoint, attempt } = await pool.execute(
    async (endpoint, { signal, attempt }) => {
      try {
        const reply = await echo(endpoint, `hello ${i}`, signal);
        return { reply, endpoint: endpoint.id, attempt };
      } catch (error) {
        failures.push(`${endpoint.id} failed: ${(error as NodeJS.ErrnoException).code ?? error}`);
        throw error;
      }
    },
    { attempts: 3, perAttemptTimeoutMs: 1_000, deadlineMs: 5_000 },
  );
  const note = failures.length > 0 ? ` (${failures.join('; ')})` : '';
  console.log(`request ${i}: "${reply}" echoed by ${endpoint} on attempt ${attempt}${note}`);
}

for (const endpoint of pool.endpoints) console.log(`state: ${endpoint.id} ${endpoint.state}`);

await pool.close();
await Promise.all(
  servers
    .slice(0, 2)
    .map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
);
console.log('done');
