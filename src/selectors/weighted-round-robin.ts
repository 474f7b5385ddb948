import { checkOptions } from '../validate.js';
import { resolveRandom, validateEndpoints } from './endpoints.js';
import { randomIndex } from './sampling.js';
import type { PickContext, Selector, SelectorEndpoint } from './selector.js';

/** Options for {@link WeightedRoundRobin}. */
export interface WeightedRoundRobinOptions {
  /**
   * Source of uniform numbers in [0, 1), used on `update()` only, to choose where in the
   * rotation a new selector starts.
   * @default Math.random
   */
  readonly random?: () => number;
}

/** Longest rotation precomputed into a table (4 MiB of indices). */
const MAX_PERIOD = 2 ** 20;
/**
 * Most work `update()` spends building the table, counted as period × (distinct weights
 * + 2): about 10 ms on a slow core. Longer builds fall back to the per-pick loop.
 */
const BUILD_BUDGET = 2 ** 22;
/** Most loop iterations (steps × endpoints) spent on the randomised start of the loop. */
const WARMUP_BUDGET = 2 ** 20;

/**
 * Smooth weighted round robin, as NGINX does it: each endpoint gets a share of picks
 * proportional to its weight, interleaved rather than in bursts. On every pick each
 * endpoint's `current` grows by its weight, the largest `current` wins (the first on a
 * tie) and drops by the total weight. Weights 5, 1, 1 give `a a b a c a a`, then again;
 * with integer weights every window of Σw consecutive picks gives each endpoint exactly
 * its weight.
 *
 * Use it to spread one client's traffic over endpoints of different capacity exactly;
 * when many independent clients share the endpoints, {@link WeightedRandom} needs no
 * rotation state, and {@link PeakEwma} adapts to actual speed.
 *
 * Speed: when the weights are integers and the rotation (Σw / gcd of the weights) is at
 * most 2²⁰ picks, `update()` precomputes the whole rotation into a table and a pick is
 * one array read, whatever the number of endpoints. Otherwise — non-integer weights, a
 * longer rotation, or a table too costly to build — each pick runs NGINX's O(n) loop.
 * Both give the same sequence.
 *
 * Start and updates: a new selector starts at a random point of the rotation
 * (`floor(random() × period)`, or that many steps of the loop, bounded), so a fleet of
 * clients does not move in lockstep; pass `random: () => 0` to start at the beginning, as
 * NGINX does. After later updates the table position is kept (modulo the new period),
 * and without a table each remaining endpoint keeps its `current`, so the rotation
 * carries on rather than restarting.
 *
 * `exclude`: excluded endpoints are skipped — the next non-excluded entry of the table
 * is taken (so a pick may scan up to the gap before that endpoint's next turn), or,
 * without a table, the loop runs over the non-excluded endpoints only, as NGINX does
 * for peers a request already tried.
 *
 * @example
 * ```ts
 * const wrr = new WeightedRoundRobin();
 * wrr.update([
 *   { id: 'a', weight: 5, inflight: 0, latency: 0 },
 *   { id: 'b', weight: 1, inflight: 0, latency: 0 },
 *   { id: 'c', weight: 1, inflight: 0, latency: 0 },
 * ]);
 * // seven picks: a a b a c a a, from a random point of that rotation
 * ```
 */
export class WeightedRoundRobin<E extends SelectorEndpoint = SelectorEndpoint>
  implements Selector<E>
{
  readonly #random: () => number;
  #endpoints: readonly E[] = [];
  #index = new Map<string, number>();
  /** Table mode: the rotation as endpoint indices, its length, and the next position. */
  #schedule: Uint32Array = new Uint32Array(0);
  #period = 0;
  #cursor = 0;
  #scheduled = false;
  /** Loop mode (`#period === 0` and endpoints present): NGINX's per-endpoint state. */
  #current: Float64Array | null = null;
  #weights = new Float64Array(0);
  #total = 0;

  /**
   * @param options - see {@link WeightedRoundRobinOptions}
   * @throws TypeError for an unknown option or a `random` that is not a function.
   */
  constructor(options?: WeightedRoundRobinOptions) {
    const opts = checkOptions('WeightedRoundRobin', options, ['random']);
    this.#random = resolveRandom('WeightedRoundRobin', opts.random);
  }

  /**
   * Replaces the endpoint set and rebuilds the rotation. Weights are read here, once;
   * keeps a reference to `endpoints` (no copy).
   * @throws TypeError or RangeError for a bad endpoint (weight ≤ 0, NaN, infinite or not a
   *   number; a duplicate or empty id), naming the field and quoting the value.
   */
  update(endpoints: readonly E[]): void {
    validateEndpoints('WeightedRoundRobin', endpoints);
    const n = endpoints.length;
    const previousIndex = this.#index;
    const previousCurrent = this.#current;
    const index = new Map<string, number>();
    const weights = new Float64Array(n);
    let total = 0;
    let divisor = 0;
    let integral = true;
    for (let i = 0; i < n; i++) {
      const { id, weight } = endpoints[i]!;
      index.set(id, i);
      weights[i] = weight;
      total += weight;
      if (integral && Number.isInteger(weight)) divisor = gcd(divisor, weight);
      else integral = false;
    }
    this.#endpoints = endpoints;
    this.#index = index;
    this.#weights = weights;
    this.#total = total;
    this.#period = 0;
    this.#current = null;
    if (n === 0) return;

    const period = total / divisor;
    if (integral && Number.isSafeInteger(total) && period <= MAX_PERIOD) {
      const schedule = buildSchedule(weights, divisor, period);
      if (schedule !== null) {
        this.#schedule = schedule;
        this.#period = period;
        this.#cursor = this.#scheduled
          ? this.#cursor % period
          : randomIndex(this.#random(), period);
        this.#scheduled = true;
        return;
      }
    }
    this.#schedule = new Uint32Array(0);
    this.#scheduled = false;
    const current = new Float64Array(n);
    this.#current = current;
    if (previousCurrent !== null) {
      for (let i = 0; i < n; i++) {
        const before = previousIndex.get(endpoints[i]!.id);
        if (before !== undefined) current[i] = previousCurrent[before]!;
      }
      return;
    }
    let least = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) least = Math.min(least, weights[i]!);
    const horizon = Math.max(1, Math.min(Math.ceil(total / least), Math.floor(WARMUP_BUDGET / n)));
    for (let steps = randomIndex(this.#random(), horizon); steps > 0; steps--) {
      this.#smooth(undefined);
    }
  }

  /**
   * The next endpoint of the rotation not in `context.exclude`. O(1) with a precomputed
   * table and no `exclude`; O(n) otherwise.
   * @returns `undefined` when there are no endpoints or every one is excluded.
   */
  pick(context?: PickContext<E>): E | undefined {
    const given = context?.exclude;
    const exclude = given !== undefined && given.size > 0 ? given : undefined;
    const period = this.#period;
    if (period > 0) {
      if (exclude === undefined) {
        const c = this.#cursor;
        this.#cursor = c + 1 === period ? 0 : c + 1;
        return this.#endpoints[this.#schedule[c]!];
      }
      return this.#nextScheduled(exclude);
    }
    if (this.#current === null) return undefined;
    const i = this.#smooth(exclude);
    return i < 0 ? undefined : this.#endpoints[i];
  }

  /** Table mode with `exclude`: the next table entry whose endpoint is not excluded. */
  #nextScheduled(exclude: ReadonlySet<string>): E | undefined {
    const endpoints = this.#endpoints;
    const n = endpoints.length;
    if (exclude.size >= n) {
      // Every endpoint appears in the table, so a scan could only fail if all are excluded.
      let hits = 0;
      for (const id of exclude) if (this.#index.has(id)) hits++;
      if (hits === n) return undefined;
    }
    const schedule = this.#schedule;
    const period = this.#period;
    let c = this.#cursor;
    for (let step = 0; step < period; step++) {
      const endpoint = endpoints[schedule[c]!]!;
      c = c + 1 === period ? 0 : c + 1;
      if (!exclude.has(endpoint.id)) {
        this.#cursor = c;
        return endpoint;
      }
    }
    return undefined;
  }

  /** One step of NGINX's loop over the non-excluded endpoints; the index, or -1. */
  #smooth(exclude: ReadonlySet<string> | undefined): number {
    const current = this.#current!;
    const weights = this.#weights;
    const n = weights.length;
    let best = -1;
    let bestCurrent = Number.NEGATIVE_INFINITY;
    let total = this.#total;
    if (exclude !== undefined) {
      total = 0;
      for (let i = 0; i < n; i++) {
        if (exclude.has(this.#endpoints[i]!.id)) continue;
        const weight = weights[i]!;
        const value = current[i]! + weight;
        current[i] = value;
        total += weight;
        if (value > bestCurrent) {
          best = i;
          bestCurrent = value;
        }
      }
    } else {
      for (let i = 0; i < n; i++) {
        const value = current[i]! + weights[i]!;
        current[i] = value;
        if (value > bestCurrent) {
          best = i;
          bestCurrent = value;
        }
      }
    }
    if (best >= 0) current[best] = bestCurrent - total;
    return best;
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/**
 * Runs NGINX's loop for one whole period and records the winners, or returns `null` when
 * that would cost more than {@link BUILD_BUDGET} steps.
 *
 * Endpoints of equal weight are handled as one group: within a group the member with the
 * fewest picks so far has the largest `current`, and among those the lowest index wins,
 * so the group's members simply take turns in index order. The loop therefore tracks one
 * `current` per distinct weight (that of the member whose turn it is), which makes the
 * build O(period × distinct weights) rather than O(period × n), and yields exactly the
 * sequence of the per-endpoint loop, tie-breaks included. Weights are divided by their
 * gcd first: scaling every weight leaves the sequence unchanged.
 */
function buildSchedule(weights: Float64Array, divisor: number, period: number): Uint32Array | null {
  const n = weights.length;
  const groupOf = new Map<number, number>();
  const group = new Uint32Array(n);
  const groupWeight: number[] = [];
  const groupSize: number[] = [];
  for (let i = 0; i < n; i++) {
    const weight = weights[i]! / divisor;
    let g = groupOf.get(weight);
    if (g === undefined) {
      g = groupWeight.length;
      groupOf.set(weight, g);
      groupWeight.push(weight);
      groupSize.push(0);
    }
    group[i] = g;
    groupSize[g]!++;
  }
  const m = groupWeight.length;
  if (period * (m + 2) > BUILD_BUDGET) return null;
  // Members of each group, in index order, laid out group after group.
  const start = new Int32Array(m + 1);
  for (let g = 0; g < m; g++) start[g + 1] = start[g]! + groupSize[g]!;
  const members = new Int32Array(n);
  const fill = start.slice(0, m);
  for (let i = 0; i < n; i++) members[fill[group[i]!]!++] = i;

  // Every value stays within ±2 × period ≤ 2²¹, so 32-bit integers are exact.
  const step = Int32Array.from(groupWeight);
  const size = Int32Array.from(groupSize);
  const current = new Int32Array(m);
  const turn = new Int32Array(m);
  /** The endpoint whose turn it is in each group. */
  const candidate = new Int32Array(m);
  for (let g = 0; g < m; g++) candidate[g] = members[start[g]!]!;
  const schedule = new Uint32Array(period);
  for (let t = 0; t < period; t++) {
    let best = 0;
    let bestCurrent = (current[0] = current[0]! + step[0]!);
    let bestIndex = candidate[0]!;
    for (let g = 1; g < m; g++) {
      const value = (current[g] = current[g]! + step[g]!);
      if (value > bestCurrent || (value === bestCurrent && candidate[g]! < bestIndex)) {
        best = g;
        bestCurrent = value;
        bestIndex = candidate[g]!;
      }
    }
    schedule[t] = bestIndex;
    const next = turn[best]! + 1;
    if (next === size[best]) {
      // Every member of the group has now had this turn: the first one's current is lower.
      turn[best] = 0;
      current[best] = bestCurrent - period;
      candidate[best] = members[start[best]!]!;
    } else {
      turn[best] = next;
      candidate[best] = members[start[best]! + next]!;
    }
  }
  return schedule;
}
