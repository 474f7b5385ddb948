/**
 * An L4 load balancer: `createTcpProxy` in front of two line-based TCP services that read
 * the PROXY protocol (v1) header, so they see each client's real address, plus a third
 * endpoint that is down.
 *
 * Each client connects to the proxy, sends one line and reads one line back. The service
 * answers with the client address it learned from the PROXY header. The down endpoint is
 * refused when picked: the proxy moves that connection to another endpoint (nothing was
 * sent yet) and outlier detection takes the endpoint out. At the end the proxy drains and
 * closes, and the pool is closed by its owner.
 *
 * Run (in a clone, after `npm ci`): npm run example examples/tcp-proxy.ts
 */
import diagnostics from 'node:diagnostics_channel';
import net from 'node:net';
import { LeastConnections, Pool } from 'switchyard';
import { createTcpProxy, type TcpFailoverMessage } from 'switchyard/tcp';

/**
 * A service that expects a PROXY v1 line first (`PROXY TCP4 <src> <dst> <sport> <dport>\r\n`),
 * then answers each line with who asked. Connections without the header are refused.
 */
async function lineService(name: string): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    let buffered = '';
    let client: string | undefined;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let end: number;
      while ((end = buffered.indexOf('\r\n')) >= 0) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (client === undefined) {
          const header = /^PROXY (TCP4|TCP6) (\S+) \S+ (\d+) \d+$/.exec(line);
          if (header === null) {
            socket.destroy(); // no PROXY header: not from our proxy
            return;
          }
          client = `${header[2]}:${header[3]}`;
        } else {
          socket.write(`${name} says hello to ${client}: you sent "${line}"\r\n`);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port;

/** Connects to the proxy, sends one line, resolves with the first line back. */
function ask(port: number, text: string): Promise<{ reply: string; localPort: number }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(`${text}\r\n`));
    socket.on('data', (chunk: string) => {
      received += chunk;
      const end = received.indexOf('\r\n');
      if (end >= 0) {
        const localPort = socket.localPort!;
        socket.end();
        resolve({ reply: received.slice(0, end), localPort });
      }
    });
    socket.on('error', reject);
  });
}

const services = [await lineService('service-a'), await lineService('service-b')];
// A port with nothing listening: connections to it are refused.
const down = net.createServer();
await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
const downPort = portOf(down);
await new Promise((resolve) => down.close(resolve));

const pool = new Pool({
  endpoints: [
    ...services.map((s) => `tcp://127.0.0.1:${portOf(s)}`),
    `tcp://127.0.0.1:${downPort}`,
  ],
  selector: new LeastConnections(),
  outlierDetection: { consecutiveFailures: 1, baseEjectionMs: 30_000 },
});

diagnostics.subscribe('switchyard:tcp:failover', (message) => {
  const { endpoint, reason } = message as TcpFailoverMessage;
  console.log(`failover: ${endpoint.id} failed (${reason}), trying another endpoint`);
});

const proxy = createTcpProxy(pool, { proxyProtocol: 'v1', connectTimeoutMs: 1_000 });
await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const proxyPort = (proxy.address() as net.AddressInfo).port;
console.log(`proxy on 127.0.0.1:${proxyPort}`);

for (let i = 1; i <= 4; i++) {
  const { reply, localPort } = await ask(proxyPort, `question ${i}`);
  console.log(`client 127.0.0.1:${localPort} got: ${reply}`);
}

for (const endpoint of pool.endpoints) console.log(`state: ${endpoint.id} ${endpoint.state}`);

// Shut down in order: the proxy drains (connections get up to 1 s), then the pool's owner
// closes the pool, then the services go.
await proxy.close({ drainMs: 1_000 });
await pool.close();
await Promise.all(services.map((s) => new Promise((resolve) => s.close(resolve))));
console.log('done');
