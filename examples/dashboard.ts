/**
 * switchyard's dashboard next to a proxy: see the traffic, the health and the latency.
 *
 * Three backends listen on 127.0.0.1 (a fast one, a slow one, one answering 503 with
 * `Retry-After`). A `Pool` with a `HealthMonitor` sits behind `createProxyHandler`; the
 * dashboard listens on its own port with an admin token. The example sends some traffic,
 * reads `/api/snapshot` and `/metrics` as a person or Prometheus would, drains one endpoint
 * through the admin API, prints what it saw, closes everything and exits.
 *
 * Run (in a clone, after `npm ci`): npm run example examples/dashboard.ts
 * (set KEEP_OPEN=1 to keep it running and open the printed URL in a browser).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HealthMonitor, Pool, RoundRobin } from 'switchyard';
import { createDashboard } from 'switchyard/dashboard';
import { createProxyHandler, httpCheck } from 'switchyard/http';

async function listen(handler: http.RequestListener): Promise<http.Server> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function urlOf(server: http.Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A backend answering `status` after `delayMs`. */
function backend(delayMs: number, status = 200): Promise<http.Server> {
  return listen((req, res) => {
    req.resume();
    const headers = status === 503 ? { 'retry-after': '30' } : {};
    setTimeout(() => res.writeHead(status, headers).end('hello'), delayMs);
  });
}

const backends = [await backend(1), await backend(8), await backend(1, 503)];
const pool = new Pool({
  endpoints: backends.map(urlOf),
  selector: new RoundRobin({ random: () => 0 }),
});
const monitor = new HealthMonitor(pool, { check: httpCheck({ path: '/' }) });
const proxy = createProxyHandler(pool);
const front = await listen(proxy);

// In production, read the token from the environment or a secret store.
const token = process.env.SWITCHYARD_ADMIN_TOKEN ?? randomBytes(32).toString('base64url');
const dashboard = createDashboard({ pools: { app: pool }, monitors: [monitor], admin: { token } });
const site = await listen(dashboard);
const dashboardUrl = `${urlOf(site)}/`;

await monitor.checkNow();
for (let i = 0; i < 30; i++) await (await fetch(`${urlOf(front)}/`)).text();

const snapshot = (await (await fetch(`${dashboardUrl}api/snapshot`)).json()) as {
  pools: Record<
    string,
    { endpoints: Array<Record<string, unknown> & { latencyMs: { p50: number | null } }> }
  >;
};
const [fast, slow, busy] = snapshot.pools.app!.endpoints;
console.log(`dashboard at ${dashboardUrl.replace(/:\d+/, ':PORT')}`);
console.log(
  `fast: ${fast!.state}, ${fast!.requests} requests, p50 under 8 ms: ${fast!.latencyMs.p50! < 8}`,
);
console.log(
  `slow: ${slow!.state}, ${slow!.requests} requests, p50 over 8 ms: ${slow!.latencyMs.p50! >= 8}`,
);
console.log(`busy: ${busy!.state} (its Retry-After ejected it), ejections ${busy!.ejections}`);

const metrics = await (await fetch(`${dashboardUrl}metrics`)).text();
const families = metrics.split('\n').filter((line) => line.startsWith('# TYPE '));
console.log(`metrics: ${families.length} families, e.g. ${families[0]}`);

// The admin API: drain the slow endpoint (no new requests; it stays listed as draining).
const id = encodeURIComponent(slow!.id as string);
const drained = await fetch(`${dashboardUrl}api/pools/app/endpoints/${id}/drain`, {
  method: 'POST',
  headers: { authorization: `Bearer ${token}` },
});
const refused = await fetch(`${dashboardUrl}api/pools/app/endpoints/${id}/enable`, {
  method: 'POST',
  headers: { authorization: 'Bearer wrong-token-wrong-token' },
});
console.log(
  `drain: ${drained.status}, now ${pool.get(slow!.id as string)!.state}; wrong token: ${refused.status}`,
);

if (process.env.KEEP_OPEN !== '1') {
  await dashboard.close();
  await monitor.stop();
  await pool.close();
  for (const server of [front, site, ...backends]) {
    server.closeAllConnections();
    server.close();
  }
  console.log('done');
} else {
  console.log(`open ${dashboardUrl} (admin token: ${token})`);
}
