import type { IncomingMessage, ServerResponse } from 'node:http';
import { DASHBOARD_ASSETS, DASHBOARD_CSP } from '../../src/dashboard/page/assets.js';
import type { Pool } from '../../src/pool/pool.js';

/**
 * A stand-in for createDashboard while it is built: the routes and payloads of SPEC §7
 * the page uses, over real pools.
 */
export function startDashboard(pools: Record<string, Pool>, token: string) {
  const streams = new Set<ServerResponse>();
  const send = (event: string, data: unknown): void => {
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of streams) res.write(text);
  };
  const snapshot = () => ({
    pools: Object.fromEntries(Object.entries(pools).map(([name, p]) => [name, p.snapshot()])),
  });
  const subscriptions = Object.entries(pools).map(([name, p]) =>
    p.onStateChange(({ endpoint, from, to, reason }) =>
      send('state', { pool: name, id: endpoint.id, from: from ?? null, to: to ?? null, reason }),
    ),
  );
  const timer = setInterval(() => send('snapshot', snapshot()), 1_000);
  timer.unref();

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const asset = DASHBOARD_ASSETS.get(path);
    if (req.method === 'GET' && asset) {
      res
        .writeHead(200, {
          'content-type': asset.contentType,
          'content-security-policy': DASHBOARD_CSP,
        })
        .end(asset.body);
    } else if (req.method === 'GET' && path === '/api/snapshot') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(snapshot()));
    } else if (req.method === 'GET' && path === '/api/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.write(`event: snapshot\ndata: ${JSON.stringify(snapshot())}\n\n`);
      streams.add(res);
      res.on('close', () => streams.delete(res));
    } else if (req.method === 'POST' && path.startsWith('/api/pools/')) {
      const [, , , name, , id, action] = path.split('/').map(decodeURIComponent);
      if (req.headers.authorization !== `Bearer ${token}`) {
        res.writeHead(401).end();
        return;
      }
      const pool = pools[name!];
      if (pool?.get(id!) === undefined) {
        res.writeHead(404).end();
        return;
      }
      if (action === 'drain') pool.drain(id!);
      else if (action === 'disable') pool.disable(id!);
      else if (action === 'enable') pool.enable(id!);
      res.writeHead(204).end();
    } else {
      res.writeHead(404).end();
    }
  };
  return {
    handler,
    close: async () => {
      clearInterval(timer);
      for (const s of subscriptions) s.dispose();
      for (const res of streams) res.end();
    },
  };
}
