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

// ---- the charts: hand-written SVG, no dependency ------------------------------------

/** One line of a chart. */
interface Series {
  readonly name: string;
  /** y for each x of the chart, in order. */
  readonly values: readonly number[];
  /** Draw the line dashed (to set a family of series apart). */
  readonly dashed?: boolean;
}

/** What to draw. */
interface LineChart {
  readonly title: string;
  readonly subtitle?: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** x values, > 0 (drawn on a log scale). */
  readonly xs: readonly number[];
  readonly series: readonly Series[];
  /** A reference line (the ideal), drawn dashed. */
  readonly baseline?: { readonly y: number; readonly label: string };
  /** Format of y tick labels. */
  readonly format?: (y: number) => string;
}

// Colour-blind-safe palette (Okabe–Ito), one colour per series.
const COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];
const MARKERS = ['circle', 'square', 'diamond', 'triangle', 'circle', 'square', 'diamond'];

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A "nice" step for about `count` ticks over `span`. */
function niceStep(span: number, count: number): number {
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * magnitude >= raw) return m * magnitude;
  return 10 * magnitude;
}

function marker(kind: string, x: number, y: number, colour: string): string {
  const r = 4;
  if (kind === 'square') {
    return `<rect x="${x - r}" y="${y - r}" width="${2 * r}" height="${2 * r}" fill="${colour}"/>`;
  }
  if (kind === 'diamond') {
    return `<path d="M${x} ${y - r - 1}L${x + r + 1} ${y}L${x} ${y + r + 1}L${x - r - 1} ${y}Z" fill="${colour}"/>`;
  }
  if (kind === 'triangle') {
    return `<path d="M${x} ${y - r - 1}L${x + r + 1} ${y + r}L${x - r - 1} ${y + r}Z" fill="${colour}"/>`;
  }
  return `<circle cx="${x}" cy="${y}" r="${r}" fill="${colour}"/>`;
}

/** Renders `chart` as an SVG document. */
function renderLineChart(chart: LineChart): string {
  const width = 790;
  const height = 440;
  const left = 70;
  const right = 200;
  const top = chart.subtitle ? 70 : 50;
  const bottom = 60;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const format = chart.format ?? ((y: number) => String(Number(y.toPrecision(3))));

  const all = chart.series.flatMap((s) => s.values).filter(Number.isFinite);
  if (chart.baseline) all.push(chart.baseline.y);
  const maxY = Math.max(...all) * 1.08;
  const minY = Math.min(0, ...all);
  const step = niceStep(maxY - minY, 5);
  const yTop = Math.ceil(maxY / step) * step;
  const yOf = (y: number) => top + plotH - ((y - minY) / (yTop - minY)) * plotH;
  const logs = chart.xs.map(Math.log10);
  const lo = Math.min(...logs);
  const hi = Math.max(...logs);
  const xOf = (x: number) =>
    left + (hi === lo ? plotW / 2 : ((Math.log10(x) - lo) / (hi - lo)) * plotW);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="13">`,
    `<title>${escapeXml(chart.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="26" font-size="17" font-weight="600" fill="#111">${escapeXml(chart.title)}</text>`,
  ];
  if (chart.subtitle) {
    out.push(`<text x="${left}" y="48" fill="#555">${escapeXml(chart.subtitle)}</text>`);
  }
  for (let y = minY; y <= yTop + step / 2; y += step) {
    const py = yOf(y);
    out.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${py}" y2="${py}" stroke="#e5e5e5"/>`,
      `<text x="${left - 8}" y="${py + 4}" text-anchor="end" fill="#444">${escapeXml(format(y))}</text>`,
    );
  }
  for (const x of chart.xs) {
    const px = xOf(x);
    out.push(
      `<line x1="${px}" x2="${px}" y1="${top}" y2="${top + plotH}" stroke="#f0f0f0"/>`,
      `<text x="${px}" y="${top + plotH + 20}" text-anchor="middle" fill="#444">${x.toLocaleString('en-US')}</text>`,
    );
  }
  out.push(
    `<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" stroke="#888"/>`,
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#888"/>`,
    `<text x="${left + plotW / 2}" y="${height - 14}" text-anchor="middle" fill="#222">${escapeXml(chart.xLabel)}</text>`,
    `<text transform="translate(18 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#222">${escapeXml(chart.yLabel)}</text>`,
  );
  if (chart.baseline) {
    const py = yOf(chart.baseline.y);
    out.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${py}" y2="${py}" stroke="#777" stroke-dasharray="5 4"/>`,
      `<text x="${left + 6}" y="${py - 6}" fill="#666">${escapeXml(chart.baseline.label)}</text>`,
    );
  }
  // Labels at the right end, nudged apart so none overlaps.
  const labels = chart.series.map((s, i) => ({ i, y: yOf(s.values.at(-1)!) }));
  labels.sort((a, b) => a.y - b.y);
  for (let k = 1; k < labels.length; k++) {
    if (labels[k]!.y - labels[k - 1]!.y < 15) labels[k]!.y = labels[k - 1]!.y + 15;
  }
  chart.series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const points = s.values.map((v, j) => [xOf(chart.xs[j]!), yOf(v)] as const);
    out.push(
      `<polyline fill="none" stroke="${colour}" stroke-width="2.2"${s.dashed ? ' stroke-dasharray="7 4"' : ''} points="${points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`,
      ...points.map(([x, y]) => marker(MARKERS[i % MARKERS.length]!, x, y, colour)),
    );
    const label = labels.find((l) => l.i === i)!;
    out.push(
      `<text x="${left + plotW + 12}" y="${label.y + 4}" fill="${colour}" font-weight="600">${escapeXml(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

// ---- the runs ---------------------------------------------------------------------

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
