/**
 * The cost of the shared try loop: one `TryLoop` object per request, owned by the
 * request's exchange, against the same steps written inline in the exchange (the layout
 * before the loop had one home). Each contender runs one successful request's lease
 * work — first lease (a real `Pool`, RoundRobin over 10 endpoints), a try sent (to a no-op
 * target), `onRequestStart`, response headers (status 200: no retry, latency read),
 * release with the outcome — so the difference is the extra object and the calls through
 * it. Interleaved rounds (A B A B …), medians, ns per request.
 *
 * Run: npm run bench:try-loop  (bundles src/http/shared/try-loop.ts with esbuild; the
 * pool comes from the same sources). ROUNDS (9), OPS (500_000) from the environment.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.env.ROUNDS ?? 9);
const OPS = Number(process.env.OPS ?? 500_000);

const dir = mkdtempSync(join(os.tmpdir(), 'sy-try-loop-'));
const entry = join(dir, 'entry.ts');
const out = join(dir, 'entry.mjs');
const { writeFileSync } = await import('node:fs');
writeFileSync(
  entry,
  `export { TryLoop } from ${JSON.stringify(join(root, 'src/http/shared/try-loop.ts'))};
export { RetryPolicy } from ${JSON.stringify(join(root, 'src/http/shared/retry-policy.ts'))};
export { responseOutcome, retryAfterOf } from ${JSON.stringify(join(root, 'src/http/shared/attempt-outcome.ts'))};
export { Pool, RoundRobin } from ${JSON.stringify(join(root, 'src/index.ts'))};`,
);
await build({
  entryPoints: [entry],
  bundle: true,
  format: 'esm',
  platform: 'node',
  outfile: out,
  logLevel: 'error',
});
const m = await import(pathToFileURL(out).href);
rmSync(dir, { recursive: true, force: true });

const pool = new m.Pool({
  endpoints: Array.from({ length: 10 }, (_, i) => `http://127.0.0.${i + 1}:8080`),
  selector: new m.RoundRobin(),
  outlierDetection: false,
});
const policy = new m.RetryPolicy({ budget: false });
const NO_HEADERS = {};
const controller = { abort() {}, pause() {}, resume() {} };
const target = {
  pool,
  policy,
  now: Date.now,
  closed: false,
  unsupported: new Set<string>(),
  send(_endpoint: unknown, _opts: unknown, _path: string, _handler: unknown): void {},
};
const opts = { method: 'GET', path: '/', headers: [], body: null };

/** An exchange that owns a TryLoop (the code as it is). */
class SharedExchange {
  safeToRepeat = true;
  replayable = true;
  readonly tries: InstanceType<typeof m.TryLoop>;
  constructor() {
    this.tries = new m.TryLoop(target, this);
  }
  retryNow(): void {}
  retrying(): void {}
  run(): void {
    const tries = this.tries;
    tries.first(undefined);
    tries.send(opts, '/', this);
    tries.started(controller);
    if (!tries.retriesResponse(controller, 200, NO_HEADERS)) tries.delivered();
  }
}

/** The same steps with the loop's fields inline (the layout before). */
class InlineExchange {
  safeToRepeat = true;
  replayable = true;
  lease: { release(o: unknown): void; elapsedMs(): number; endpoint: unknown } | undefined;
  attempts = 0;
  sent = false;
  controller: unknown = null;
  status = 0;
  retryAfterMs = 0;
  latencyMs = 0;
  tried: Set<string> | undefined = undefined;
  discarding = false;
  run(): void {
    this.lease = pool.acquire();
    this.attempts++;
    this.sent = false;
    this.controller = null;
    target.send(this.lease!.endpoint, opts, '/', this);
    this.controller = controller;
    this.sent = true;
    const retryAfterMs = m.retryAfterOf(target, 200, NO_HEADERS);
    if (!policy.retriesStatus(200, this)) {
      this.latencyMs = this.lease!.elapsedMs();
      this.status = 200;
      this.retryAfterMs = retryAfterMs;
      this.lease!.release(m.responseOutcome(200, this.attempts, this.latencyMs, retryAfterMs));
    }
  }
}

const contenders: Array<[string, () => void]> = [
  ['inline fields (before)', () => new InlineExchange().run()],
  ['shared TryLoop object', () => new SharedExchange().run()],
];
const samples = new Map<string, number[]>(contenders.map(([name]) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, fn] of contenders) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < OPS; i++) fn();
    const ns = Number(process.hrtime.bigint() - start) / OPS;
    if (round > 0) samples.get(name)!.push(ns);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(samples.get(contenders[0]![0])!);
console.log(`try loop, ${OPS} requests x ${ROUNDS - 1} rounds (first discarded), medians:`);
for (const [name] of contenders) {
  const ns = median(samples.get(name)!);
  console.log(
    `  ${name.padEnd(24)} ${ns.toFixed(1).padStart(7)} ns/request  (${(ns - base >= 0 ? '+' : '') + (ns - base).toFixed(1)} ns)`,
  );
}
