import { existsSync } from 'node:fs';
import http from 'node:http';
import express from 'express';
import { type Browser, chromium, type Page } from 'playwright-core';
import { onTestFinished } from 'vitest';
import launch from '../../scripts/chromium.json' with { type: 'json' };
import { createDashboard } from '../../src/dashboard/index.js';
import { HealthMonitor } from '../../src/health/index.js';
import { createProxyHandler, httpCheck } from '../../src/http/index.js';
import { Pool } from '../../src/pool/pool.js';
import { closeServer, listen } from '../http/proxy-support.js';

export const CHROMIUM = launch.executablePath;

/** Debian's Chromium, headless, with nothing that calls home. Throws when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (.ci/run does)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: launch.args });
}

/** What a page did: every request it made, console errors, uncaught errors, dialogs. */
export interface PageRecord {
  readonly requests: string[];
  readonly consoleErrors: string[];
  readonly pageErrors: string[];
  readonly dialogs: string[];
}

export function record(page: Page): PageRecord {
  const out: PageRecord = { requests: [], consoleErrors: [], pageErrors: [], dialogs: [] };
  page.on('request', (request) => out.requests.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') out.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => out.pageErrors.push(error.message));
  page.on('dialog', (dialog) => {
    out.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  return out;
}

/** An id as hostile as configuration can make one: markup that runs if parsed as HTML. */
export const HOSTILE_ID = 'http://127.0.0.1:1/<img src=x onerror=alert(1)>';

export const ADMIN_TOKEN = 'page-test-token-7f3a';

/** A backend on 127.0.0.1 answering every request after `delayMs`. */
async function backend(delayMs: number): Promise<string> {
  const server = http.createServer((req, res) => {
    req.resume();
    setTimeout(() => res.end('ok'), delayMs);
  });
  const port = await listen(server);
  onTestFinished(() => {
    server.closeAllConnections();
    return closeServer(server);
  });
  return `http://127.0.0.1:${port}`;
}

export interface Rig {
  readonly pool: Pool;
  /** The ids of the pool `app`, which carries the traffic. */
  readonly ids: readonly string[];
  /** A second pool, `db`, with one idle endpoint. */
  readonly db: Pool;
  /** The page's URL: the dashboard mounted under `/lb/`. */
  readonly pageUrl: string;
  readonly origin: string;
  /** Drops every open connection to the dashboard (its event streams included). */
  dropConnections(): void;
  /** `dashboard.close()`: ends the event streams; new ones are refused. */
  closeDashboard(): Promise<void>;
  /** Requests the traffic generator got answered. */
  answered(): number;
}

/**
 * Backends of three speeds plus one with a hostile id, a real Pool (`app`) with a HealthMonitor
 * (checked once at start, then only every minute, so a test's own state changes stand), the
 * HTTP proxy over it, bounded traffic through the proxy, an idle second pool (`db`), and
 * createDashboard over both mounted under
 * `/lb` in an Express app on its own server. Everything is closed when the test ends.
 */
export async function startRig(): Promise<Rig> {
  const urls = await Promise.all([2, 8, 20, 5].map(backend));
  const ids = ['fast', 'medium', 'slow', HOSTILE_ID];
  const pool = new Pool({ endpoints: ids.map((id, i) => ({ id, url: urls[i]! })) });
  const db = new Pool({ endpoints: [{ id: 'db-1', url: urls[0]!.replace('http:', 'tcp:') }] });
  onTestFinished(() => db.close());
  onTestFinished(() => pool.close());

  const proxy = createProxyHandler(pool);
  const proxyServer = http.createServer(proxy);
  const proxyPort = await listen(proxyServer);
  onTestFinished(async () => {
    proxyServer.closeAllConnections();
    await closeServer(proxyServer);
    await proxy.close({ force: true });
  });

  const check = httpCheck({ path: '/' });
  const monitor = new HealthMonitor(pool, { check, intervalMs: 60_000 });
  monitor.start();
  await monitor.checkNow();
  onTestFinished(async () => {
    await monitor.stop();
    await check.close();
  });

  const dashboard = createDashboard({
    pools: { app: pool, db },
    monitors: [monitor],
    admin: { token: ADMIN_TOKEN },
  });
  const app = express();
  app.use('/lb', dashboard);
  const server = http.createServer(app);
  const port = await listen(server);
  onTestFinished(async () => {
    await dashboard.close();
    server.closeAllConnections();
    await closeServer(server);
  });

  // Traffic: four loops of GETs, each pausing 20 ms; bounded in count and stopped at the end.
  let running = true;
  let answered = 0;
  let sent = 0;
  const loops = Array.from({ length: 4 }, async () => {
    while (running && sent < 20_000) {
      sent++;
      try {
        const response = await fetch(`http://127.0.0.1:${proxyPort}/`);
        await response.arrayBuffer();
        answered++;
      } catch {
        // a state change under test may fail a request: the page shows it
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  onTestFinished(async () => {
    running = false;
    await Promise.all(loops);
  });

  const origin = `http://127.0.0.1:${port}`;
  return {
    pool,
    ids,
    db,
    pageUrl: `${origin}/lb/`,
    origin,
    dropConnections: () => server.closeAllConnections(),
    closeDashboard: () => dashboard.close(),
    answered: () => answered,
  };
}
