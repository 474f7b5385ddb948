import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/cli/demo.js';
import type { DemoSummary } from '../../src/cli/demo-options.js';

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
  it('shows failover and restoration, loses no GET, and exits by itself', async () => {
    const out = buffer();
    const started = performance.now();
    const summary: DemoSummary = await runDemo({
      durationMs: 8_000,
      rate: 100,
      killAtMs: 2_000,
      restoreAtMs: 4_000,
      output: out.output,
    });
    expect(performance.now() - started).toBeLessThan(14_000);
    const text = out.text();

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
    for (const b of summary.backends) expect(await listening(b.url), b.name).toBe(false);
  }, 20_000);

  it('ends at once on abort and still prints the summary', async () => {
    const out = buffer();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 1_200);
    const started = performance.now();
    const summary = await runDemo({ output: out.output, signal: controller.signal });
    expect(performance.now() - started).toBeLessThan(4_000);
    expect(summary.aborted).toBe(true);
    expect(summary.killedAtMs).toBeNull();
    expect(summary.failures).toBe(0);
    expect(out.text()).toMatch(/^summary .*\(stopped early\)/m);
    expect(await listening(summary.proxyUrl)).toBe(false);
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
    [{ port: 8080 }, TypeError, /^runDemo got an unknown option "port"/],
  ])('rejects %o before starting anything', async (options, type, message) => {
    const error = await runDemo(options as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toMatch(message);
  });
});
