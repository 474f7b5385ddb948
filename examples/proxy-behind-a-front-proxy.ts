/**
 * switchyard's proxy behind a front proxy (a TLS terminator, a cloud load balancer), as a
 * fleet member: who is trusted, who the client is, and what a client cannot do.
 *
 * A backend on 127.0.0.1 answers with what it saw. The proxy trusts only loopback peers
 * (the front proxy runs on this host), keys its affinity cookie with a secret every
 * fleet member shares, ends idle WebSocket tunnels after 10 minutes and tunnels
 * WebSocket only. The example sends requests as the front proxy would (it appends the
 * address it saw to `X-Forwarded-For`), prints what reached the backend, and exits.
 *
 * Run (in a clone, after `npm ci`): npm run example examples/proxy-behind-a-front-proxy.ts
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'switchyard';
import { createProxyHandler } from 'switchyard/http';

const backend = http.createServer((req, res) => {
  const seen = ['x-forwarded-for', 'x-real-ip', 'x-forwarded-prefix']
    .map((name) => `${name}=${req.headers[name] ?? '-'}`)
    .join(' ');
  res.end(`${req.url} ${seen}`);
});
await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
const backendUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}`;

const pool = new Pool({ endpoints: [`${backendUrl}/app`] });
const proxy = createProxyHandler(pool, {
  // Only the front proxy on this host is trusted; anyone else's forwarding headers go.
  trustProxy: ['loopback'],
  // Every member of the fleet reads the others' cookies: one secret for all of them.
  affinity: {
    cookie: 'sy',
    secret: process.env.AFFINITY_SECRET ?? 'example-secret-not-for-production',
  },
  timeouts: { tunnelIdleMs: 10 * 60_000 },
  upgrade: { protocols: ['websocket'] },
});
const server = http.createServer(proxy).on('upgrade', proxy.upgrade);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as AddressInfo).port;

/** One request through the proxy, as the front proxy sends it; prints status and body. */
function send(path: string, headers: http.OutgoingHttpHeaders): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        const cookie = res.headers['set-cookie'] === undefined ? '' : ' (sets the affinity cookie)';
        console.log(`GET ${path} -> ${res.statusCode} ${body.trim()}${cookie}`);
        resolve();
      });
    });
    req.on('error', reject);
    req.end();
  });
}

// The client wrote `forged` itself; the front proxy appended the address it saw.
await send('/users', { 'x-forwarded-for': 'forged, 203.0.113.7', 'x-real-ip': '10.0.0.1' });
// Dot segments are resolved under the endpoint's path `/app`...
await send('/static/../users/7', {});
// ...and one that climbs above it is refused, never forwarded.
await send('/../admin', {});

await proxy.close();
server.close();
backend.close();
await pool.close();
console.log('done');
