import { execFile } from 'node:child_process';
import http, { type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';
import { createDashboard, type Dashboard } from '../../src/dashboard/index.js';
import type { DashboardOptions } from '../../src/dashboard/options.js';
import { HealthMonitor } from '../../src/health/health-monitor.js';
import { createProxyHandler } from '../../src/http/index.js';
import { Pool } from '../../src/pool/pool.js';
import { RoundRobin } from '../../src/selectors/round-robin.js';

export const TOKEN = 'correct-horse-battery-staple-0123456789';

/** Starts `server` on 127.0.0.1, port 0; closes it when the test ends. */
export async function serve(listener: RequestListener): Promise<{ url: string; port: number }> {
  const server = http.createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, port };
}

/** A backend answering 200 with its name after `delayMs`, or `status` when given. */
export function backend(name: string, delayMs = 0, status = 200): Promise<{ url: string }> {
  return serve((req, res) => {
    req.resume();
    setTimeout(() => res.writeHead(status, { 'content-type': 'text/plain' }).end(name), delayMs);
  });
}

/** A world: backends, a pool with a monitor, the proxy in front, the dashboard on its own port. */
export async function world(
  options: {
    admin?: boolean;
    monitor?: boolean;
    failing?: boolean;
  } & Omit<Partial<DashboardOptions>, 'admin'> = {},
) {
  const { admin = true, monitor: withMonitor = true, failing = false, ...rest } = options;
  const backends = [
    await backend('a', 2),
    await backend('b', 5),
    await backend('c', 1, failing ? 500 : 200),
  ];
  const pool = new Pool({ endpoints: backends.map((b) => b.url), selector: new RoundRobin() });
  onTestFinished(() => pool.close());
  const monitor = new HealthMonitor(pool, {
    check: async (endpoint, signal) => {
      const res = await fetch(endpoint.url, { signal });
      await res.body?.cancel();
      if (res.status !== 200) throw new Error(`status ${res.status}`);
    },
  });
  onTestFinished(() => monitor.stop());
  const proxy = createProxyHandler(pool);
  const front = await serve(proxy);
  const dashboard: Dashboard = createDashboard({
    pools: { app: pool },
    ...(withMonitor ? { monitors: [monitor] } : {}),
    ...(admin ? { admin: { token: TOKEN } } : {}),
    ...rest,
  });
  onTestFinished(() => dashboard.close());
  const site = await serve(dashboard);
  return { pool, monitor, proxy: front, dashboard, site, backends };
}

/** Sends `n` GETs through the proxy, one after the other; returns the statuses. */
export async function traffic(proxyUrl: string, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${proxyUrl}/x/${i}`);
    await res.text();
    statuses.push(res.status);
  }
  return statuses;
}

/** One server-sent event. */
export interface SseEvent {
  readonly event: string;
  readonly id?: string;
  readonly data: string;
}

/**
 * Reads `url` as an event stream until `until(events)` holds or `timeoutMs` passes (then
 * rejects); returns the events and the response, whose body is then cancelled.
 */
export async function readEvents(
  url: string,
  until: (events: readonly SseEvent[]) => boolean,
  options: { timeoutMs?: number; headers?: Record<string, string>; onOpen?: () => void } = {},
): Promise<{ events: SseEvent[]; status: number; headers: Headers; ended: boolean }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 5_000);
  const res = await fetch(url, { signal: controller.signal, headers: options.headers ?? {} });
  const events: SseEvent[] = [];
  let ended = false;
  try {
    if (res.body === null) throw new Error('no body');
    options.onOpen?.();
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = res.body.getReader();
    while (!until(events)) {
      const { value, done } = await reader.read();
      if (done) {
        ended = true;
        break;
      }
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        let event = 'message';
        let id: string | undefined;
        const data: string[] = [];
        let any = false;
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('id: ')) id = line.slice(4);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
          else continue;
          any = true;
        }
        if (any && data.length > 0)
          events.push({ event, data: data.join('\n'), ...(id ? { id } : {}) });
      }
    }
    await reader.cancel().catch(() => {});
  } finally {
    clearTimeout(timer);
  }
  return { events, status: res.status, headers: res.headers, ended };
}

/** Runs `promtool check metrics` on `text`: its exit code and output. Fails without promtool. */
export function promtool(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile('/usr/bin/promtool', ['check', 'metrics'], (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(
          new Error("/usr/bin/promtool is missing: install Debian's prometheus (.ci/run does)"),
        );
        return;
      }
      resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
    child.stdin!.end(text);
  });
}
