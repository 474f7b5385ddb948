/**
 * A pool fed by DNS: SRV records give each endpoint its port, weight and tier, and the
 * pool follows the records as they change, at their TTL.
 *
 * Point it at a DNS server and an SRV name (a Kubernetes headless Service's
 * `_http._tcp.<service>.<namespace>.svc.cluster.local`, Consul's `<service>.service.consul`
 * on port 8600, or a local dnsmasq started with `--srv-host=…`). It prints the endpoints
 * each time the set changes and every failed lookup (the pool keeps its set then), picks a
 * few endpoints by key, and stops after DURATION_MS.
 *
 * Run (in a clone, after `npm ci`): npm run example examples/discovery-dns.ts
 * with DNS_SERVER=127.0.0.1:5353 DNS_NAME=_http._tcp.app.svc.test in the environment.
 */
import { Maglev, Pool } from 'switchyard';
import { DnsDiscovery } from 'switchyard/discovery';

const server = process.env.DNS_SERVER ?? '127.0.0.1:5353';
const name = process.env.DNS_NAME ?? '_http._tcp.app.svc.test';
const durationMs = Number(process.env.DURATION_MS ?? 3_000);

const pool = new Pool({ endpoints: [], selector: new Maglev() });
pool.onMembershipChange(() => {
  const members = pool.endpoints
    .filter((e) => e.state !== 'draining')
    .map((e) => `${e.url} weight ${e.configuredWeight} tier ${e.priority}`)
    .sort();
  console.log(`endpoints: ${members.join(', ')}`);
});

const discovery = new DnsDiscovery({
  name,
  servers: [server],
  minRefreshMs: 200,
  maxRefreshMs: 1_000,
  timeoutMs: 500,
});
discovery.onError((error) => console.log(`lookup failed (${error.reason}): keeping the set`));
discovery.attach(pool);

// Wait (bounded) for the first answer, then pick by key: every process that discovers the
// same records maps each key to the same endpoint.
const deadline = Date.now() + durationMs;
while (pool.endpoints.length === 0 && Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 20));
}
for (const key of ['user-1', 'user-2', 'user-3']) {
  const lease = pool.tryAcquire({ key });
  console.log(`${key} → ${lease?.endpoint.url ?? 'no endpoint'}`);
  lease?.release({ ok: true });
}
await new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())));
await discovery.close(); // (or `await using discovery = …` on Node 24)
await pool.close();
console.log('done');
