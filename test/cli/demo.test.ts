import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/cli/demo.js';
import type { DemoSummary } from '../../src/cli/demo-options.js';
import { main } from '../../src/cli/main.js';
import type { DashboardSnapshot } from '../../src/dashboard/index.js';

function buffer() {
  let text = '';
  return { output: { write: (chunk: string) => void (text += chunk) }, text: () => text };
}

/** Resolves true when something accepts a connection on the URL's port. */
function listening(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('runDemo', () => {
  it('shows failover and restoration on the dashboard, loses no GET, and exits by itself', async () => {
    const out = buffer();
    const started = performance.now();
    // What a browser opened on the dashboard would read while the demo runs: the page, a
    // snapshot, and the event stream until it ends with the demo.
    let seen:
      | Promise<{ page: string; csp: string | null; snapshot: DashboardSnapshot; events: string }>
      | undefined;
    let opened: string | undefined;
    const summary: DemoSummary = await runDemo({
      durationMs: 8_000,
      rate: 100,
      killAtMs: 2_000,
      restoreAtMs: 4_000,
      output: out.output,
      open: (url) => {
        opened = url;
        seen = (async () => {
          const page = await fetch(url);
          const snapshot = (await (
            await fetch(new URL('api/snapshot', url))
          ).json()) as DashboardSnapshot;
          const stream = await fetch(new URL('api/events', url));
          let events = '';
          const decoder = new TextDecoder();
          for await (const chunk of stream.body!) events += decoder.decode(chunk, { stream: true });
          return {
            page: await page.text(),
            csp: page.headers.get('content-security-policy'),
            snapshot,
            events,
          };
        })();
      },
    });
    expect(performance.now() - started).toBeLessThan(14_000);
    const text = out.text();

    // The dashboard's URL comes first, and is what --open opened.
    expect(text.split('\n')[0]).toMatch(
      /^dashboard {2}http:\/\/127\.0\.0\.1:\d+\/ {3}live share, latency and state changes \(admin token [\w-]{24}\)$/,
    );
    expect(text.split('\n')[0]).toContain(summary.dashboardUrl);
    expect(opened).toBe(summary.dashboardUrl);
    const { page, csp, snapshot, events } = await seen!;
    expect(page).toContain('<title>switchyard</title>');
    expect(csp).toContain("default-src 'none'");
    expect(snapshot.pools.demo!.endpoints.map((e) => e.id)).toEqual(['fast', 'medium', 'slow']);
    // The stream carried the kill and the restoration as they happened, and the traffic.
    expect(events).toMatch(
      /^event: state\n(?:id: \d+\n)?data: .*"id":"fast","from":"healthy","to":"(unhealthy|ejected)"/m,
    );
    expect(events).toMatch(
      /^event: state\n(?:id: \d+\n)?data: .*"id":"fast","from":"\w+","to":"healthy","reason":"health-check"/m,
    );
    const snapshots = [...events.matchAll(/^event: snapshot\ndata: (.*)$/gm)].map(
      (m) => JSON.parse(m[1]!) as DashboardSnapshot,
    );
    expect(snapshots.length).toBeGreaterThan(5);
    expect(snapshots.some((s) => s.pools.demo!.totals.rate > 0)).toBe(true);
    expect(snapshots.at(-1)!.pools.demo!.endpoints[1]!.health?.last?.ok).toBe(true);

    // The URLs are printed.
    expect(text).toMatch(/proxy +http:\/\/127\.0\.0\.1:\d+/);
    for (const b of summary.backends) expect(text).toContain(`${b.name}`.padEnd(8) + ` ${b.url}`);
    expect(text).toMatch(/^summary {2}\d+ requests/m);

    // Every GET answered 2xx: the ones that met the dead backend were retried elsewhere.
    expect(summary.failures, JSON.stringify(summary.failureCauses)).toBe(0);
    expect(summary.unanswered).toBe(0);
    expect(summary.successes).toBe(summary.requests);
    expect(summary.requests).toBeGreaterThan(500);

    const [fast, medium, slow] = summary.backends;
    expect(summary.killed).toBe('fast');
    // All three served traffic before the kill.
    for (const b of [fast!, medium!, slow!]) expect(b.before, b.name).toBeGreaterThan(0);
    // Nothing sent while it was down reached the killed backend; the others took it all.
    expect(fast!.down).toBe(0);
    expect(medium!.down + slow!.down).toBeGreaterThan(0);
    // Back in rotation after its restart.
    expect(fast!.after).toBeGreaterThan(0);

    // The state changes were shown as they happened.
    expect(text).toMatch(/fast killed/);
    expect(text).toMatch(/fast: \w+ → (unhealthy|ejected)/);
    expect(text).toMatch(/fast: \w+ → healthy \(health-check\)/);

    // Nothing is left listening.
    expect(await listening(summary.proxyUrl)).toBe(false);
    expect(await listening(summary.dashboardUrl)).toBe(false);
    for (const b of summary.backends) expect(await listening(b.url), b.name).toBe(false);
  }, 20_000);

  it('ends at once on abort and still prints the summary; a browser that cannot open is a warning', async () => {
    const out = buffer();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 1_200);
    const started = performance.now();
    const summary = await runDemo({
      output: out.output,
      signal: controller.signal,
      open: () => Promise.reject(new Error('spawn xdg-open ENOENT')),
    });
    expect(out.text()).toContain(
      `  warning: could not open a browser (spawn xdg-open ENOENT): open ${summary.dashboardUrl} yourself\n`,
    );
    expect(performance.now() - started).toBeLessThan(4_000);
    expect(summary.aborted).toBe(true);
    expect(summary.killedAtMs).toBeNull();
    expect(summary.failures).toBe(0);
    expect(out.text()).toMatch(/^summary .*\(stopped early\)/m);
    expect(await listening(summary.proxyUrl)).toBe(false);
    expect(await listening(summary.dashboardUrl)).toBe(false);
  }, 10_000);

  it('--open on the command line opens the dashboard; an opener that throws is a warning', async () => {
    const controller = new AbortController();
    let stdout = '';
    const opened: string[] = [];
    setTimeout(() => controller.abort(), 1_000);
    const code = await main(['demo', '--open'], {
      stdout: { write: (chunk: string) => void (stdout += chunk) },
      signal: controller.signal,
      open: (url) => {
        opened.push(url);
        throw new Error('no display');
      },
    });
    expect(code).toBe(130);
    const url = stdout.match(/^dashboard {2}(\S+)/)?.[1];
    expect(opened).toEqual([url]);
    expect(stdout).toContain(
      `warning: could not open a browser (no display): open ${url} yourself`,
    );
  }, 10_000);

  it('returns at once when the signal is already aborted', async () => {
    const summary = await runDemo({ output: buffer().output, signal: AbortSignal.abort() });
    expect(summary.aborted).toBe(true);
    expect(summary.requests).toBe(0);
  });

  it.each([
    [
      { durationMs: 999 },
      RangeError,
      /^durationMs must be a finite number >= 1000 and <= 3600000, got 999$/,
    ],
    [{ durationMs: Number.NaN }, RangeError, /^durationMs must be .*, got NaN$/],
    [{ rate: 0 }, RangeError, /^rate must be a finite number >= 1 and <= 5000, got 0$/],
    [{ rate: '10' }, TypeError, /^rate must be .*, got "10"$/],
    [{ killAtMs: 30_000 }, RangeError, /^killAtMs must be .* <= 20000, got 30000$/],
    [
      { killAtMs: 5_000, restoreAtMs: 4_000 },
      RangeError,
      /^restoreAtMs must be .* >= 5000 .*, got 4000$/,
    ],
    [{ output: {} }, TypeError, /^output must have a write\(text\) method, got \{\}$/],
    [{ signal: 'stop' }, TypeError, /^signal must be an AbortSignal, got "stop"$/],
    [{ open: 'yes' }, TypeError, /^open must be a boolean or a function, got "yes"$/],
    [{ port: 8080 }, TypeError, /^runDemo got an unknown option "port"/],
  ])('rejects %o before starting anything', async (options, type, message) => {
    const error = await runDemo(options as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toMatch(message);
  });
});
