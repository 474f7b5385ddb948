/**
 * The fleet, simulated: how each strategy spreads load when K processes balance on their
 * own view (docs/guides/fleet.md). For K = 1, 10, 100 and 1 000 balancers over the same
 * 10 endpoints (one of them twice as slow), with one shared Poisson arrival process, it
 * reports for each selector:
 * - imbalance: in flight on the busiest endpoint over the mean (`maxInflight /
 *   meanInflight`, 1 is a perfect spread);
 * - p99 latency (endpoints serve 8 requests at once and queue the rest, so imbalance
 *   shows as queueing);
 * - what an endpoint joining costs: an 11th endpoint joins after 4 s of traffic, and the
 *   run ends 500 ms later; its peak in flight over the mean in flight per endpoint shows
 *   the burst a cold newcomer takes;
 * - for the hashing selectors, the share of 10 000 keys that move when one endpoint of 10
 *   leaves or an 11th joins (the same at any K: every process computes the same table).
 *
 * Each figure is the mean of three seeds. Everything runs in virtual time (`simulate` from switchyard/testing), so the figures do
 * not depend on the machine: the same seed gives the same charts. It writes three SVG
 * charts into docs/images/ and prints the tables as Markdown.
 *
 * Run: npm run build && npm run bench:fleet        (QUICK=1 for a short run)
 * Environment: REQUESTS=20000  OUT=docs/images  QUICK=1
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as sy from '../dist/index.js';
import { type SimulatedEndpoint, simulate } from '../dist/testing.js';
import { renderLineChart, type Series } from './svg-chart.ts';

const QUICK = process.env.QUICK === '1';
const REQUESTS = Number(process.env.REQUESTS ?? (QUICK ? 4_000 : 20_000));
const OUT = process.env.OUT ?? 'docs/images';
const FLEETS = [1, 10, 100, 1000];
const RATE = 1_500; // requests per virtual second, about 45 % of the endpoints' capacity
const KEYS = 10_000;
/** Every figure is the mean of these seeds' runs: one seed's queueing luck is noisy. */
const SEEDS = [1, 2, 3];

type Factory = (random: () => number) => sy.Selector;
const SELECTORS: ReadonlyArray<readonly [string, Factory]> = [
  ['round-robin', (random) => new sy.RoundRobin({ random })],
  ['power-of-two-choices', (random) => new sy.PowerOfTwoChoices({ random })],
  ['least-connections', (random) => new sy.LeastConnections({ random })],
  ['peak-ewma', (random) => new sy.PeakEwma({ random })],
  ['ring-hash', () => new sy.RingHash()],
  // A smaller prime table than the default 65 537: a thousand tables of 65 537 entries
  // would take 256 MB. 5 003 is still 500 entries per endpoint.
  ['maglev', () => new sy.Maglev({ tableSize: 5_003 })],
  ['rendezvous', () => new sy.Rendezvous()],
];
const HASHING = new Set(['ring-hash', 'maglev', 'rendezvous']);

const id = (i: number) => `http://10.0.0.${i + 1}:8080`;
/** Nine endpoints with a 20 ms median, one with 40 ms; each serves 8 at once. */
const endpoints: SimulatedEndpoint[] = Array.from({ length: 10 }, (_, i) => ({
  id: id(i),
  latency: { kind: 'lognormal', medianMs: i === 9 ? 40 : 20, sigma: 0.5 },
  concurrency: 8,
}));
const JOIN_AT_MS = 4_000;
const JOIN_WINDOW_MS = 500;
/** The same ten, and an 11th that joins at 4 s. */
const joining: SimulatedEndpoint[] = [
  ...endpoints,
  {
    id: id(10),
    latency: { kind: 'lognormal', medianMs: 20, sigma: 0.5 },
    concurrency: 8,
    outages: [{ fromMs: 0, toMs: JOIN_AT_MS }],
  },
];
const workload = { requests: REQUESTS, ratePerSecond: RATE, keys: KEYS };
const joinWorkload = {
  requests: Math.round(((JOIN_AT_MS + JOIN_WINDOW_MS) / 1000) * RATE),
  ratePerSecond: RATE,
  keys: KEYS,
};

interface Row {
  readonly imbalance: number[];
  readonly p99: number[];
  readonly joinBurst: number[];
}

const started = performance.now();
const rows = new Map<string, Row>();
for (const [name, factory] of SELECTORS) {
  const row: Row = { imbalance: [], p99: [], joinBurst: [] };
  for (const balancers of FLEETS) {
    let imbalance = 0;
    let p99 = 0;
    let burst = 0;
    for (const seed of SEEDS) {
      const steady = simulate({ selector: factory, balancers, endpoints, workload, seed });
      imbalance += steady.overall.maxInflight / steady.overall.meanInflight;
      p99 += steady.overall.p99;
      const join = simulate({
        selector: factory,
        balancers,
        endpoints: joining,
        workload: joinWorkload,
        seed,
      });
      burst += join.endpoints[10]!.peakInflight / steady.overall.meanInflight;
    }
    row.imbalance.push(imbalance / SEEDS.length);
    row.p99.push(p99 / SEEDS.length);
    row.joinBurst.push(burst / SEEDS.length);
  }
  rows.set(name, row);
}

/** Share of keys whose endpoint differs between two sets, for a hashing selector. */
function moved(make: Factory, before: number, after: number): number {
  const set = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ id: id(i), weight: 1, inflight: 0, latency: 0 }));
  const a = make(Math.random);
  const b = make(Math.random);
  const from = set(before);
  // Leaving: the 4th endpoint goes (not the last, which would flatter some layouts).
  const to = after < before ? from.filter((_, i) => i !== 3) : set(after);
  a.update(from);
  b.update(to);
  let count = 0;
  for (let k = 0; k < KEYS; k++) {
    const key = `key-${k}`;
    if (a.pick({ key })!.id !== b.pick({ key })!.id) count++;
  }
  return count / KEYS;
}

const series = (pick: (row: Row) => number[]): Series[] =>
  [...rows].map(([name, row]) => ({ name, values: pick(row), dashed: HASHING.has(name) }));
const fixed = (digits: number) => (n: number) => n.toFixed(digits);
const subtitle = `10 endpoints (one 2× slower), ${RATE.toLocaleString('en-US')} req/s shared, ${REQUESTS.toLocaleString('en-US')} requests, mean of ${SEEDS.length} seeds`;

mkdirSync(OUT, { recursive: true });
const charts = {
  'fleet-imbalance.svg': renderLineChart({
    title: 'Load spread as the fleet grows: busiest endpoint ÷ mean, in flight',
    subtitle,
    xLabel: 'balancers (processes), each with its own view — dashed: hashing, the same at any K',
    yLabel: 'max ÷ mean in flight (1 = even)',
    xs: FLEETS,
    series: series((r) => r.imbalance),
    baseline: { y: 1, label: 'perfectly even' },
    format: fixed(1),
  }),
  'fleet-p99.svg': renderLineChart({
    title: 'p99 latency as the fleet grows',
    subtitle,
    xLabel: 'balancers (processes), each with its own view',
    yLabel: 'p99 latency (virtual ms)',
    xs: FLEETS,
    series: series((r) => r.p99),
    format: fixed(0),
  }),
  'fleet-join.svg': renderLineChart({
    title: 'An endpoint joins: its peak in flight ÷ mean per endpoint',
    subtitle: `an 11th endpoint joins at 4 s: its first 500 ms; ${RATE.toLocaleString('en-US')} req/s, mean of ${SEEDS.length} seeds`,
    xLabel: 'balancers (processes), each with its own view',
    yLabel: 'newcomer peak ÷ mean in flight',
    xs: FLEETS,
    series: series((r) => r.joinBurst),
    format: fixed(1),
  }),
};
for (const [file, svg] of Object.entries(charts)) writeFileSync(join(OUT, file), svg);

const header = `| selector | ${FLEETS.map((k) => `K = ${k.toLocaleString('en-US')}`).join(' | ')} |`;
const rule = `| --- | ${FLEETS.map(() => '---:').join(' | ')} |`;
const table = (title: string, pick: (row: Row) => number[], digits: number) => {
  console.log(`\n${title}\n\n${header}\n${rule}`);
  for (const [name, row] of rows) {
    console.log(
      `| ${name} | ${pick(row)
        .map((v) => v.toFixed(digits))
        .join(' | ')} |`,
    );
  }
};
table('Imbalance (max ÷ mean in flight)', (r) => r.imbalance, 2);
table('p99 latency (virtual ms)', (r) => r.p99, 1);
table('Joining endpoint: peak ÷ mean in flight', (r) => r.joinBurst, 1);
console.log('\nKeys moved (10 000 keys; ideal: 10.0 % on leave, 9.1 % on join)\n');
console.log('| selector | one of 10 leaves | an 11th joins |\n| --- | ---: | ---: |');
for (const [name, factory] of SELECTORS) {
  if (!HASHING.has(name)) continue;
  const leave = moved(factory, 10, 9);
  const join = moved(factory, 10, 11);
  console.log(`| ${name} | ${(leave * 100).toFixed(1)} % | ${(join * 100).toFixed(1)} % |`);
}
console.log(
  `\nwrote ${Object.keys(charts).join(', ')} into ${OUT} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
