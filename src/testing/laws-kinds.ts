/**
 * The laws of each selector kind: fair shares, least-loaded picks, consistent keys.
 * @internal
 */
import * as fc from 'fast-check';
import type { SelectorEndpoint } from '../selectors/selector.js';
import { quote } from '../validate.js';
import { endpointsArbitrary, keyArbitrary, type TestEndpoint } from './arbitraries.js';
import {
  build,
  checkShares,
  type LawSettings,
  LawViolation,
  picksFor,
  randomKey,
} from './law-support.js';
import { type LawRun, parameters } from './laws-universal.js';
import { copyEndpoints } from './script.js';
import { seededRandom } from './seeded-random.js';

function indexOf(endpoints: readonly TestEndpoint[]): Map<SelectorEndpoint, number> {
  return new Map(endpoints.map((endpoint, i) => [endpoint, i]));
}

function notAMember(picked: SelectorEndpoint | undefined): LawViolation {
  return new LawViolation(`pick returned ${quote(picked?.id)}, not an endpoint of the set`);
}

function loads(endpoints: readonly TestEndpoint[]): string {
  return endpoints.map((e) => `${quote(e.id)}: ${e.inflight}`).join(', ');
}

/**
 * Shares of picks: 1/n each with equal weights ('balanced'), w/W with weights
 * ('weighted'), within `tolerance` (relative).
 */
export function checkShare(settings: LawSettings, run: LawRun): void {
  const weighted = settings.kind === 'weighted';
  const property = fc.property(
    endpointsArbitrary({ minLength: 2, maxLength: settings.maxEndpoints, weighted, maxWeight: 5 }),
    fc.constantFrom(1, 0.5, 3),
    fc.integer(),
    (generated, commonWeight, seed) => {
      const endpoints = copyEndpoints(generated);
      if (!weighted) for (const endpoint of endpoints) endpoint.weight = commonWeight;
      const selector = build(settings, seed);
      selector.update(endpoints);
      const index = indexOf(endpoints);
      let sum = 0;
      let smallest = Number.POSITIVE_INFINITY;
      for (const e of endpoints) {
        sum += e.weight;
        smallest = Math.min(smallest, e.weight);
      }
      const total = picksFor(smallest / sum, settings.tolerance, 100 * endpoints.length);
      const counts = new Float64Array(endpoints.length);
      for (let t = 0; t < total; t++) {
        const picked = selector.pick();
        const i = picked === undefined ? undefined : index.get(picked);
        if (i === undefined) throw notAMember(picked);
        counts[i]!++;
      }
      checkShares(
        weighted ? 'picks are not proportional to weight' : 'picks are not spread evenly',
        endpoints,
        counts,
        total,
        settings.tolerance,
      );
    },
  );
  fc.assert(property, parameters(run, true));
}

/**
 * Never the unique most-loaded endpoint, with n ≥ 2, equal weights and equal latency,
 * while the harness starts a request on every pick and ends random ones.
 */
export function checkLeastLoaded(settings: LawSettings, run: LawRun): void {
  const max = settings.maxEndpoints;
  const property = fc.property(
    endpointsArbitrary({ minLength: 2, maxLength: max }),
    fc.array(fc.nat({ max: 10 }), { minLength: max, maxLength: max }),
    fc.integer({ min: 1, max: 100 }),
    fc.array(fc.boolean(), { maxLength: 60 }),
    fc.integer(),
    (generated, initial, latency, ops, seed) => {
      const endpoints = copyEndpoints(generated);
      endpoints.forEach((endpoint, i) => {
        endpoint.inflight = initial[i] ?? 0;
        endpoint.latency = latency;
      });
      const selector = build(settings, seed);
      selector.update(endpoints);
      const index = indexOf(endpoints);
      const random = seededRandom(seed ^ 0x1b873593);
      for (const isPick of ops) {
        if (!isPick) {
          const busy = endpoints.filter((e) => e.inflight > 0);
          const done = busy[Math.floor(random() * busy.length)];
          if (done !== undefined) done.inflight--;
          continue;
        }
        let most: TestEndpoint | undefined;
        let unique = false;
        for (const e of endpoints) {
          if (most === undefined || e.inflight > most.inflight) {
            most = e;
            unique = true;
          } else if (e.inflight === most.inflight) {
            unique = false;
          }
        }
        const before = loads(endpoints);
        const picked = selector.pick();
        const i = picked === undefined ? undefined : index.get(picked);
        if (i === undefined) throw notAMember(picked);
        const endpoint = endpoints[i]!;
        if (unique && endpoint === most) {
          throw new LawViolation(
            `picked ${quote(endpoint.id)}, the unique most loaded endpoint (inflight: ${before}; equal weights, latency ${latency} ms)`,
          );
        }
        endpoint.inflight++;
      }
    },
  );
  fc.assert(property, parameters(run));
}

/**
 * Under steady load — 64 requests per endpoint in flight, a random one ending before each
 * pick — max − min `inflight` never exceeds `maxLoadSpread` (equal weights and latency).
 */
export function checkLoadSpread(settings: LawSettings, run: LawRun): void {
  const property = fc.property(
    endpointsArbitrary({ minLength: 2, maxLength: settings.maxEndpoints }),
    fc.integer({ min: 1, max: 100 }),
    fc.integer(),
    (generated, latency, seed) => {
      const endpoints = copyEndpoints(generated);
      for (const endpoint of endpoints) endpoint.latency = latency;
      const n = endpoints.length;
      const selector = build(settings, seed);
      selector.update(endpoints);
      const index = indexOf(endpoints);
      const random = seededRandom(seed ^ 0x68e31da4);
      const requests: TestEndpoint[] = [];
      const concurrency = 64 * n;
      const rounds = 8 * concurrency;
      for (let round = 0; round < concurrency + rounds; round++) {
        if (round >= concurrency) {
          // A random request ends: the swap-remove keeps this O(1).
          const j = Math.floor(random() * requests.length);
          requests[j]!.inflight--;
          requests[j] = requests[requests.length - 1]!;
          requests.pop();
        }
        const picked = selector.pick();
        const i = picked === undefined ? undefined : index.get(picked);
        if (i === undefined) throw notAMember(picked);
        const endpoint = endpoints[i]!;
        endpoint.inflight++;
        requests.push(endpoint);
        let low = Number.POSITIVE_INFINITY;
        let high = 0;
        for (const e of endpoints) {
          low = Math.min(low, e.inflight);
          high = Math.max(high, e.inflight);
        }
        if (high - low > settings.maxLoadSpread) {
          throw new LawViolation(
            `after ${round + 1} picks at ${concurrency} requests in flight, inflight spread is ${high - low} > maxLoadSpread ${settings.maxLoadSpread} (${loads(endpoints)})`,
          );
        }
      }
    },
  );
  fc.assert(property, parameters(run, true));
}

function shuffled<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/**
 * A key maps to one endpoint — on every call, with keyless picks in between, and on a
 * fresh instance (another random) given the same set in another order — and so does a key
 * with its first choice excluded.
 */
export function checkKeyStability(settings: LawSettings, run: LawRun): void {
  const property = fc.property(
    endpointsArbitrary({ minLength: 1, maxLength: settings.maxEndpoints, weighted: true }),
    fc.uniqueArray(keyArbitrary(), { minLength: 1, maxLength: 20 }),
    fc.integer(),
    fc.integer(),
    fc.integer(),
    (generated, keys, seedA, seedB, order) => {
      const a = build(settings, seedA);
      const b = build(settings, seedB);
      a.update(copyEndpoints(generated));
      b.update(shuffled(copyEndpoints(generated), seededRandom(order)));
      for (const key of keys) {
        const first = a.pick({ key })?.id;
        a.pick();
        const again = a.pick({ key })?.id;
        const fresh = b.pick({ key })?.id;
        if (first !== again || first !== fresh) {
          throw new LawViolation(
            `key ${quote(key)} went to ${quote(first)}, then ${quote(again)} on the same instance, and to ${quote(fresh)} on a fresh one given the same endpoints in another order`,
          );
        }
        if (first === undefined) throw new LawViolation(`key ${quote(key)} got no endpoint`);
        const exclude = new Set([first]);
        const second = a.pick({ key, exclude })?.id;
        const secondAgain = a.pick({ key, exclude })?.id;
        const secondFresh = b.pick({ key, exclude })?.id;
        if (second !== secondAgain || second !== secondFresh) {
          throw new LawViolation(
            `key ${quote(key)} excluding ${quote(first)} went to ${quote(second)}, then ${quote(secondAgain)} on the same instance, and to ${quote(secondFresh)} on a fresh one`,
          );
        }
      }
    },
  );
  fc.assert(property, parameters(run));
}

/** Keys mapped per run of the disruption law. */
const DISRUPTION_KEYS = 2000;

/**
 * Removing one endpoint moves at most `maxMovedShare` of the keys held by the others, and
 * bringing it back restores every key's endpoint.
 */
export function checkDisruption(settings: LawSettings, run: LawRun): void {
  const property = fc.property(
    endpointsArbitrary({ minLength: 2, maxLength: settings.maxEndpoints, weighted: true }),
    fc.nat(),
    fc.integer(),
    (generated, removedIndex, seed) => {
      const endpoints = copyEndpoints(generated);
      const removed = endpoints[removedIndex % endpoints.length]!;
      const selector = build(settings, seed);
      const random = seededRandom(seed ^ 0x7feb352d);
      const keys = Array.from({ length: DISRUPTION_KEYS }, () => randomKey(random));
      const map = () => keys.map((key) => selector.pick({ key })?.id);
      selector.update(endpoints.slice());
      const before = map();
      selector.update(endpoints.filter((e) => e !== removed));
      const after = map();
      let stayed = 0;
      const moved: string[] = [];
      before.forEach((id, k) => {
        if (id === removed.id) return;
        stayed++;
        if (after[k] !== id) moved.push(`${quote(keys[k])}: ${quote(id)} → ${quote(after[k])}`);
      });
      if (moved.length > settings.maxMovedShare * stayed) {
        throw new LawViolation(
          `removing ${quote(removed.id)} moved ${moved.length} of the ${stayed} keys held by other endpoints ` +
            `(${((100 * moved.length) / stayed).toFixed(2)}% > maxMovedShare ${settings.maxMovedShare}), e.g. ${moved.slice(0, 3).join(', ')}`,
        );
      }
      selector.update(endpoints.slice());
      const restored = map();
      const k = restored.findIndex((id, i) => id !== before[i]);
      if (k !== -1) {
        throw new LawViolation(
          `after ${quote(removed.id)} came back, key ${quote(keys[k])} went to ${quote(restored[k])} instead of ${quote(before[k])} as before it left`,
        );
      }
    },
  );
  fc.assert(property, parameters(run, true));
}

/** With equal weights, random keys spread over the endpoints within `tolerance`. */
export function checkKeySpread(settings: LawSettings, run: LawRun): void {
  const property = fc.property(
    endpointsArbitrary({ minLength: 2, maxLength: settings.maxEndpoints }),
    fc.integer(),
    (generated, seed) => {
      const endpoints = copyEndpoints(generated);
      const n = endpoints.length;
      const selector = build(settings, seed);
      selector.update(endpoints);
      const index = indexOf(endpoints);
      const random = seededRandom(seed ^ 0x4f1bbcdd);
      const total = picksFor(1 / n, settings.tolerance, 2000 * n);
      const counts = new Float64Array(n);
      for (let t = 0; t < total; t++) {
        const picked = selector.pick({ key: randomKey(random) });
        const i = picked === undefined ? undefined : index.get(picked);
        if (i === undefined) throw notAMember(picked);
        counts[i]!++;
      }
      checkShares('keys are not spread evenly', endpoints, counts, total, settings.tolerance);
    },
  );
  fc.assert(property, parameters(run, true));
}
