/**
 * Selector pick cost: every switchyard selector at 10, 100, 1 000 and 10 000 endpoints,
 * with the npm peers that implement the same algorithm measured in the same run,
 * interleaved (A B C A B C …), medians of the rounds, printed as ratios to the peer.
 * Also table build time for RingHash, Maglev and the `hashring` peer at 1 000 endpoints.
 *
 * The hashing selectors and `hashring` run once per key set:
 * - `hot`: 1 024 distinct keys over and over, the same string objects (a Map lookup on
 *   a string the engine has hashed before is cheap, which key caches — ours and
 *   hashring's LRU — rely on);
 * - `cold`: 2^20 distinct keys in turn, so every cache misses (hashring's LRU thrashes);
 * - `fresh` (only when asked for): the hot key values, but a new string built for every
 *   pick, as a proxy gets them from each request's headers. Building the string is
 *   measured too, the same for every contender.
 *
 * Run: npm run build && npm run bench:selectors   (imports the built package)
 * Environment: SIZES=10,1000  ROUNDS=7  PICKS=2000000  KEY_SETS=hot,cold,fresh
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import * as sy from '../dist/index.js';

const require = createRequire(import.meta.url);
const loadbalance = require('loadbalance');
const { P2cBalancer, RandomBalancer } = require('load-balancers');
const HashRing = require('hashring');

const SIZES = (process.env.SIZES ?? '10,100,1000,10000').split(',').map(Number);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const PICKS = Number(process.env.PICKS ?? 2_000_000);
const KEY_SETS = (process.env.KEY_SETS ?? 'hot,cold').split(',') as KeySet[];

type KeySet = 'hot' | 'cold' | 'fresh';
/** Up to 12 characters: flat strings (longer template results can be rope strings). */
const HOT_KEYS = Array.from({ length: 1024 }, (_, i) => `user-${i * 7919}`);
const COLD_KEYS = Array.from({ length: 2 ** 20 }, (_, i) => `user-${i}`);
/** The expression giving the key of pick `i` in the generated loops. */
const KEY_EXPRESSION: Record<KeySet, string> = {
  hot: 'keys[i & 1023]',
  cold: 'keys[i & 1048575]',
  fresh: "'user-' + (i & 1023) * 7919",
};

interface Contender {
  readonly name: string;
  /** Returns a function that runs `n` picks and returns a checksum (keeps the work alive). */
  readonly make: (size: number) => (n: number) => number;
  /** Far slower than the others (a thrashing cache): fewer picks per round. */
  readonly slow?: boolean;
}

// Each contender gets its own compiled loop so call sites stay monomorphic: one shared loop
// calling ten classes would make every contender pay for megamorphic dispatch. The name in
// the source matters: V8 shares compiled code (and its type feedback) between functions
// made from identical source text.
function loop(
  name: string,
  body: string,
): (target: unknown, keys: string[], ctx: unknown) => (n: number) => number {
  return new Function(
    'target',
    'keys',
    'ctx',
    `/* ${name} */ return function run(n) { let sink = 0; for (let i = 0; i < n; i++) { ${body} } return sink; }`,
  ) as never;
}

function endpoints(size: number, weighted = false) {
  return Array.from({ length: size }, (_, i) => ({
    id: `http://127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`,
    weight: weighted ? 1 + (i % 5) : 1,
    inflight: i % 3,
    latency: 5 + (i % 7),
  }));
}

function ours(
  name: string,
  factory: () => sy.Selector,
  opts: { weighted?: boolean; keys?: KeySet } = {},
): Contender {
  const body = opts.keys
    ? `ctx.key = ${KEY_EXPRESSION[opts.keys]}; sink += target.pick(ctx).weight;`
    : 'sink += target.pick().weight;';
  const compiled = loop(`${name} ${opts.keys ?? ''}`, body);
  const keys = opts.keys === 'cold' ? COLD_KEYS : HOT_KEYS;
  return {
    name,
    make(size) {
      const selector = factory();
      selector.update(endpoints(size, opts.weighted));
      return compiled(selector, keys, { key: '' });
    },
  };
}

function peer(
  name: string,
  build: (size: number) => unknown,
  body: string,
  opts: { keys?: KeySet; slow?: boolean } = {},
): Contender {
  const compiled = loop(`${name} ${opts.keys ?? ''}`, body);
  const keys = opts.keys === 'cold' ? COLD_KEYS : HOT_KEYS;
  return {
    name,
    // `ctx` holds the endpoint list: peers that return an index (load-balancers) are charged
    // for reading the endpoint it names, as their users must, like ours returning it.
    make: (size) => compiled(build(size), keys, endpoints(size)),
    slow: opts.slow === true,
  };
}

interface Group {
  readonly algorithm: string;
  /** The key set of a hashing group. */
  readonly keys?: KeySet;
  readonly ours: Contender;
  readonly peer?: Contender;
}

const hashing: Group[] = KEY_SETS.flatMap((keys): Group[] => [
  {
    algorithm: 'ring hash',
    keys,
    ours: ours('RingHash', () => new sy.RingHash(), { keys }),
    peer: peer(
      'hashring get',
      (n) => new HashRing(endpoints(n).map((e) => e.id)),
      `sink += target.get(${KEY_EXPRESSION[keys]}).length;`,
      { keys, slow: keys === 'cold' },
    ),
  },
  { algorithm: 'maglev', keys, ours: ours('Maglev', () => new sy.Maglev(), { keys }) },
  { algorithm: 'rendezvous', keys, ours: ours('Rendezvous', () => new sy.Rendezvous(), { keys }) },
]);

const groups: Group[] = [
  {
    algorithm: 'round robin',
    ours: ours('RoundRobin', () => new sy.RoundRobin()),
    peer: peer(
      'loadbalance RR',
      (n) => new loadbalance.RoundRobinEngine(endpoints(n)),
      'sink += target.pick().weight;',
    ),
  },
  {
    algorithm: 'weighted round robin',
    ours: ours('WeightedRoundRobin', () => new sy.WeightedRoundRobin(), { weighted: true }),
    peer: peer(
      'loadbalance WRR',
      (n) =>
        loadbalance.roundRobin(endpoints(n, true).map((e) => ({ object: e, weight: e.weight }))),
      'sink += target.pick().weight;',
    ),
  },
  {
    algorithm: 'random',
    ours: ours('Random', () => new sy.Random()),
    peer: peer(
      'load-balancers random',
      (n) => new RandomBalancer(n),
      'sink += ctx[target.pick()].weight;',
    ),
  },
  {
    algorithm: 'weighted random',
    ours: ours('WeightedRandom', () => new sy.WeightedRandom(), { weighted: true }),
  },
  {
    algorithm: 'least connections',
    ours: ours('LeastConnections', () => new sy.LeastConnections()),
  },
  {
    algorithm: 'power of two choices',
    ours: ours('PowerOfTwoChoices', () => new sy.PowerOfTwoChoices()),
    peer: peer(
      'load-balancers P2C',
      (n) => new P2cBalancer(n),
      'sink += ctx[target.pick()].weight;',
    ),
  },
  { algorithm: 'peak EWMA', ours: ours('PeakEwma', () => new sy.PeakEwma()) },
  ...hashing,
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function nsPerPick(run: (n: number) => number, picks: number): number {
  const start = process.hrtime.bigint();
  const sink = run(picks);
  const ns = Number(process.hrtime.bigint() - start) / picks;
  if (Number.isNaN(sink)) throw new Error('unreachable');
  return ns;
}

function fmt(ns: number): string {
  return ns < 10 ? ns.toFixed(2) : ns < 1000 ? ns.toFixed(1) : ns.toFixed(0);
}

const rows: string[] = [];
console.log(`# switchyard selector benchmark`);
console.log(
  `node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`,
);
console.log(
  `${PICKS} picks per round, ${ROUNDS} interleaved rounds, medians; ratio = ours / peer (< 1 is faster)`,
);
console.log(
  `keys: hot = 1 024 keys repeated, cold = 2^20 keys in turn, fresh = a new string per pick\n`,
);
console.log('| algorithm | selector | endpoints | keys | ns/pick | peer | peer ns/pick | ratio |');
console.log('|---|---|---:|---|---:|---|---:|---:|');

for (const size of SIZES) {
  for (const group of groups) {
    // O(n) selectors at 1 000 endpoints and more, and thrashing caches: fewer picks keep
    // the run short.
    const onN = size >= 1000 && /least|rendezvous/.test(group.algorithm);
    const contenders = group.peer ? [group.ours, group.peer] : [group.ours];
    const picks = contenders.map((c) => (onN || c.slow ? PICKS / 20 : PICKS));
    const runs = contenders.map((c) => c.make(size));
    for (let i = 0; i < runs.length; i++) runs[i]!(Math.min(picks[i]!, 200_000)); // warm-up
    const samples: number[][] = contenders.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < runs.length; i++) samples[i]!.push(nsPerPick(runs[i]!, picks[i]!));
    }
    const [mine, theirs] = samples.map(median);
    const keys = group.keys ?? '—';
    const line = group.peer
      ? `| ${group.algorithm} | ${group.ours.name} | ${size} | ${keys} | ${fmt(mine!)} | ${group.peer.name} | ${fmt(theirs!)} | ${(mine! / theirs!).toFixed(2)} |`
      : `| ${group.algorithm} | ${group.ours.name} | ${size} | ${keys} | ${fmt(mine!)} | — | — | — |`;
    rows.push(line);
    console.log(line);
  }
}

console.log('\n## Table build at 1 000 endpoints (median of rounds)\n');
console.log('| table | ms |');
console.log('|---|---:|');
const builds: Array<[string, () => void]> = [
  ['RingHash (default vnodes)', () => new sy.RingHash().update(endpoints(1000))],
  ['Maglev (M = 65 537)', () => new sy.Maglev().update(endpoints(1000))],
  ['hashring (peer)', () => new HashRing(endpoints(1000).map((e) => e.id))],
];
const buildSamples = builds.map(() => [] as number[]);
for (let round = 0; round < 5; round++) {
  builds.forEach(([, build], i) => {
    const start = process.hrtime.bigint();
    build();
    buildSamples[i]!.push(Number(process.hrtime.bigint() - start) / 1e6);
  });
}
for (let i = 0; i < builds.length; i++) {
  console.log(`| ${builds[i]![0]} | ${median(buildSamples[i]!).toFixed(1)} |`);
}
