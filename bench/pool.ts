/**
 * Pool hot-path cost: `acquire()` + `release()` per operation at 10, 1 000 and 10 000
 * endpoints, against the bare selector pick (PowerOfTwoChoices, the pool's default) in the
 * same run, interleaved (A B C D A B C D …), medians of the rounds, as ratios to the bare
 * pick.
 *
 * Contenders:
 * - `bare pick`: `selector.pick()` alone, on the same kind of endpoint set.
 * - `bare pick + 2 clock reads`: the pick plus the two `performance.now()` calls any
 *   latency measurement needs (one at acquire, one at release) — the floor for a pool that
 *   measures latency.
 * - `pool, real clock`: `pool.acquire()` then `lease.release({ ok: true })`, default clock.
 * - `pool, constant clock`: the same with `now: () => 0`, which isolates the pool's own
 *   work (accounting, lease object, EWMA) from the cost of reading the clock.
 * - `pool, caller latency`: `lease.release({ ok: true, latencyMs })`, default clock: the
 *   caller supplies the sample, so release reads no clock (one read per operation).
 * - `pool, prefer`: `pool.acquire({ prefer })` on an eligible endpoint (the sticky-session
 *   path: no selector pick), released with `{ ok: true }`, default clock.
 *
 * With BASELINE=/path/to/other/dist/index.js, the pool contenders also run on that build (an
 * older commit's, say) in the same interleaved rounds: `baseline pool, …` rows, to hold a
 * change to "acquire + release costs no more than before".
 *
 * Run: npm run build && npm run bench:pool   (imports the built package)
 */
import os from 'node:os';
import * as sy from '../dist/index.js';

const SIZES = (process.env.SIZES ?? '10,1000,10000').split(',').map(Number);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const OPS = Number(process.env.OPS ?? 1_000_000);

/** `size` loopback URLs: http://127.x.y.z:8080. */
function urls(size: number): string[] {
  return Array.from(
    { length: size },
    (_, i) =>
      `http://127.${Math.floor(i / 62_500) % 250}.${Math.floor(i / 250) % 250}.${(i % 250) + 1}:8080`,
  );
}

type Package = typeof sy;

interface Contender {
  readonly name: string;
  /**
   * Returns a function that runs `n` operations and returns a checksum. `own` is the
   * contender's own instance of the package, so the shapes one contender passes (acquire
   * options, outcomes) do not make another's call sites inside the pool polymorphic.
   */
  readonly make: (size: number, own: Package) => (n: number) => number;
  /** The build it runs on: this repository's dist unless given. */
  readonly from?: string;
}

// One compiled loop per contender keeps each call site monomorphic (see bench/selectors.ts).
function loop(name: string, body: string): (target: unknown) => (n: number) => number {
  return new Function(
    'target',
    `/* ${name} */ const OK = { ok: true }; const TIMED = { ok: true, latencyMs: 1 }; const clock = globalThis.performance; return function run(n) { let sink = 0; for (let i = 0; i < n; i++) { ${body} } return sink; }`,
  ) as never;
}

function bare(name: string, body: string): Contender {
  const compiled = loop(name, body);
  return {
    name,
    make(size) {
      const selector = new sy.PowerOfTwoChoices();
      // The pool's own endpoint objects, so both sides read the same shapes.
      selector.update(new sy.Pool({ endpoints: urls(size) }).endpoints);
      return compiled(selector);
    },
  };
}

function pooled(
  name: string,
  options: sy.PoolOptions,
  body = 'const lease = target.acquire(); sink += lease.endpoint.inflight; lease.release(OK);',
): Contender {
  const compiled = loop(name, body);
  return {
    name,
    make: (size, own) => compiled(new own.Pool({ endpoints: urls(size), ...options })),
  };
}

/** Like `pooled`, but `target` is `{ pool, prefer }` with one acquire-options object reused. */
function preferred(name: string): Contender {
  const compiled = loop(
    name,
    'const lease = target.pool.acquire(target.prefer); sink += lease.endpoint.inflight; lease.release(OK);',
  );
  return {
    name,
    make(size, own) {
      const pool = new own.Pool({ endpoints: urls(size) });
      // The endpoint's own id string, as the proxy passes it: an equal string built
      // elsewhere costs a character comparison in the map lookup (~20 ns here).
      return compiled({ pool, prefer: { prefer: pool.endpoints[size >> 1]!.id } });
    },
  };
}

const contenders: Contender[] = [
  bare('bare pick', 'sink += target.pick().inflight;'),
  bare(
    'bare pick + 2 clock reads',
    'const t = clock.now(); sink += target.pick().inflight; sink += clock.now() - t;',
  ),
  pooled('pool, real clock', {}),
  pooled('pool, constant clock', { now: () => 0 }),
  pooled(
    'pool, caller latency',
    {},
    'const lease = target.acquire(); sink += lease.endpoint.inflight; lease.release(TIMED);',
  ),
  preferred('pool, prefer'),
];
const BASELINE = process.env.BASELINE;
if (BASELINE !== undefined) {
  const from = new URL(`file://${BASELINE}`).href;
  contenders.push(
    { ...pooled('baseline pool, real clock', {}), from },
    { ...pooled('baseline pool, constant clock', { now: () => 0 }), from },
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function nsPerOp(run: (n: number) => number, ops: number): number {
  const start = process.hrtime.bigint();
  const sink = run(ops);
  const ns = Number(process.hrtime.bigint() - start) / ops;
  if (Number.isNaN(sink)) throw new Error('unreachable');
  return ns;
}

console.log('# switchyard pool benchmark: acquire + release');
console.log(
  `node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`,
);
console.log(
  `${OPS} operations per round, ${ROUNDS} interleaved rounds, medians; ratio = contender / bare pick\n`,
);
console.log('| endpoints | contender | ns/op | ratio |');
console.log('|---:|---|---:|---:|');

const instances = (await Promise.all(
  contenders.map((c) => import(`${c.from ?? '../dist/index.js'}?${encodeURIComponent(c.name)}`)),
)) as Package[];

const paired: string[] = [];
for (const size of SIZES) {
  const runs = contenders.map((c, i) => c.make(size, instances[i]!));
  for (const run of runs) run(Math.min(OPS, 200_000)); // warm-up
  const samples: number[][] = contenders.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    // Forward, then backward (A B C C B A …): no contender always runs after the same one.
    for (let k = 0; k < runs.length; k++) {
      const i = round % 2 === 0 ? k : runs.length - 1 - k;
      samples[i]!.push(nsPerOp(runs[i]!, OPS));
    }
  }
  const medians = samples.map(median);
  contenders.forEach((c, i) => {
    const ns = medians[i]!;
    console.log(`| ${size} | ${c.name} | ${ns.toFixed(1)} | ${(ns / medians[0]!).toFixed(2)} |`);
  });
  // Against the baseline build: the median of the per-round ratios, which cancels the
  // machine's drift between rounds better than a ratio of medians.
  contenders.forEach((c, i) => {
    if (!c.name.startsWith('baseline ')) return;
    const j = contenders.findIndex((o) => o.name === c.name.slice('baseline '.length));
    if (j < 0) return;
    const ratios = samples[j]!.map((ns, r) => ns / samples[i]![r]!);
    const best = Math.min(...samples[j]!) / Math.min(...samples[i]!);
    paired.push(
      `| ${size} | ${contenders[j]!.name} | ${median(ratios).toFixed(2)} | ${best.toFixed(2)} | ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)} |`,
    );
  });
}
if (paired.length > 0) {
  console.log(
    '\nThis build against BASELINE (this / baseline): the median of the per-round ratios, the ratio of the fastest rounds, and the range of the per-round ratios\n',
  );
  console.log('| endpoints | contender | median ratio | fastest-round ratio | range |');
  console.log('|---:|---|---:|---:|---|');
  for (const line of paired) console.log(line);
}
