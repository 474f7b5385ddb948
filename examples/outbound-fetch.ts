/**
 * Client-side balancing: a service's own `fetch` calls spread over the instances of
 * another service, with failover.
 *
 * Two small backends listen on 127.0.0.1. A `Pool` holds them and
 * `createBalancedDispatcher` turns it into an undici dispatcher: every `fetch` given it
 * goes to the endpoint the pool picks, whatever host its URL names (`users.internal` here
 * is only a label: it is never resolved). Four calls alternate between the backends; then
 * the second backend is closed, and the next calls that go its way fail over to the
 * first — the caller sees no error — while outlier detection takes it out of rotation.
 *
 * Run (in a clone, after `npm ci`): npm run example examples/outbound-fetch.ts
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool, RoundRobin } from 'switchyard';
import { createBalancedDispatcher } from 'switchyard/http';
import { fetch } from 'undici';

/** Starts a backend on 127.0.0.1 on a free port that answers with its name and the path. */
async function backend(name: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`${name} served ${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}` };
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Kept-alive connections from the dispatcher would hold the server open.
    server.closeAllConnections();
  });
}

const one = await backend('backend-1');
const two = await backend('backend-2');
console.log(`backends: ${one.url} (backend-1), ${two.url} (backend-2)`);

const pool = new Pool({
  endpoints: [one.url, two.url],
  selector: new RoundRobin(),
  // Out after one failure, for the demonstration (the default is five in a row).
  outlierDetection: { consecutiveFailures: 1 },
});
pool.onStateChange(({ endpoint, from, to, reason }) => {
  if (from !== undefined) console.log(`state: ${endpoint.url} ${to} (${reason})`);
});

const users = createBalancedDispatcher(pool, { retry: { attempts: 2 } });

async function getUser(id: number): Promise<void> {
  const res = await fetch(`http://users.internal/users/${id}`, { dispatcher: users });
  console.log(`GET /users/${id}: ${res.status} ${await res.text()}`);
}

for (let id = 1; id <= 4; id++) await getUser(id);

console.log('closing backend-2');
await close(two.server);
for (let id = 5; id <= 8; id++) await getUser(id);

for (const endpoint of pool.snapshot().endpoints) {
  console.log(
    `endpoint ${endpoint.url}: ${endpoint.successes} ok, ${endpoint.failures} failed, ${endpoint.state}`,
  );
}

await users.close();
await pool.close();
await close(one.server);
console.log('done');
