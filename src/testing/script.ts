import * as fc from 'fast-check';
import type { PickContext, Selector, SelectorEndpoint } from '../selectors/selector.js';
import { checkBoolean, checkNumber, checkOptions, quote } from '../validate.js';
import {
  DEFAULT_MAX_ENDPOINTS,
  DEFAULT_MAX_STEPS,
  endpointsArbitrary,
  keyArbitrary,
  type TestEndpoint,
  weightArbitrary,
} from './arbitraries.js';

/**
 * One operation of a {@link SelectorScript}. Endpoints are named by their index in
 * `script.endpoints`, taken modulo its length, so every step stays meaningful while
 * fast-check shrinks the list.
 */
export type SelectorScriptStep =
  | {
      /** Replace the set with these members, optionally giving them new weights first. */
      readonly op: 'update';
      /** Indexes of the new set's members (duplicates after the modulo are dropped). */
      readonly members: readonly number[];
      /** New weights, by position in `members` (for a repeated member, the last wins). */
      readonly weights?: readonly number[];
    }
  | {
      /** Pick once. */
      readonly op: 'pick';
      /** The pick's hash key. */
      readonly key?: string;
      /** Indexes of the endpoints to exclude (members of the set or not). */
      readonly exclude?: readonly number[];
    }
  | {
      /** Change an endpoint's load, as a pool would between picks. */
      readonly op: 'load';
      /** Index of the endpoint. */
      readonly member: number;
      /** Its new `inflight`. */
      readonly inflight: number;
      /** Its new `latency` in ms. */
      readonly latency: number;
    };

/**
 * A random life of a selector: a universe of endpoints, then steps. Replaying it starts
 * with `update(endpoints)` (all of them), then runs the steps in order.
 */
export interface SelectorScript {
  /** Every endpoint the script may use, with unique ids; replays copy them. */
  readonly endpoints: readonly TestEndpoint[];
  /** The operations, in order. */
  readonly steps: readonly SelectorScriptStep[];
}

/** Options of {@link selectorScriptArbitrary}. */
export interface SelectorScriptOptions {
  /**
   * Fewest endpoints in the universe.
   * @defaultValue `1`
   */
  readonly minEndpoints?: number;
  /**
   * Most endpoints in the universe.
   * @defaultValue {@link DEFAULT_MAX_ENDPOINTS} (8)
   */
  readonly maxEndpoints?: number;
  /**
   * Most steps.
   * @defaultValue {@link DEFAULT_MAX_STEPS} (40)
   */
  readonly maxSteps?: number;
  /**
   * Draw weights, initially and in `update` steps (else every weight is 1).
   * @defaultValue `true`
   */
  readonly weighted?: boolean;
  /**
   * Give picks a hash key about half of the time.
   * @defaultValue `true`
   */
  readonly keys?: boolean;
  /**
   * Include `load` steps.
   * @defaultValue `true`
   */
  readonly load?: boolean;
}

/**
 * Random scripts of `update`, `pick` (with and without key and `exclude`) and `load`
 * steps, for model-free checks of a selector: replay one with
 * {@link replaySelectorScript} and check what holds whatever the algorithm.
 *
 * @param options - see {@link SelectorScriptOptions}
 * @throws TypeError or RangeError for an unknown or invalid option
 * @example
 * ```ts
 * fc.assert(fc.property(selectorScriptArbitrary(), (script) => {
 *   replaySelectorScript(new RoundRobin(), script, ({ result, current }) => {
 *     if (result !== undefined && !current.includes(result)) throw new Error('not a member');
 *   });
 * }));
 * ```
 */
export function selectorScriptArbitrary(
  options?: SelectorScriptOptions,
): fc.Arbitrary<SelectorScript> {
  const owner = 'selectorScriptArbitrary';
  const opts = checkOptions(owner, options, [
    'minEndpoints',
    'maxEndpoints',
    'maxSteps',
    'weighted',
    'keys',
    'load',
  ]);
  const bounds = { min: 1, max: 1000, integer: true };
  const minEndpoints =
    opts.minEndpoints === undefined
      ? 1
      : checkNumber('minEndpoints', opts.minEndpoints, bounds, owner);
  const maxEndpoints =
    opts.maxEndpoints === undefined
      ? Math.max(minEndpoints, DEFAULT_MAX_ENDPOINTS)
      : checkNumber('maxEndpoints', opts.maxEndpoints, bounds, owner);
  if (minEndpoints > maxEndpoints) {
    throw new RangeError(
      `minEndpoints must be <= maxEndpoints, got minEndpoints ${minEndpoints} and maxEndpoints ${maxEndpoints} (${owner})`,
    );
  }
  const maxSteps =
    opts.maxSteps === undefined
      ? DEFAULT_MAX_STEPS
      : checkNumber('maxSteps', opts.maxSteps, { min: 0, max: 100_000, integer: true }, owner);
  const weighted =
    opts.weighted === undefined ? true : checkBoolean('weighted', opts.weighted, owner);
  const keys = opts.keys === undefined ? true : checkBoolean('keys', opts.keys, owner);
  const load = opts.load === undefined ? true : checkBoolean('load', opts.load, owner);

  const index = fc.nat({ max: maxEndpoints - 1 });
  const indexes = fc.uniqueArray(index, { maxLength: maxEndpoints });
  const update = fc
    .tuple(
      fc.uniqueArray(fc.tuple(index, weighted ? weightArbitrary() : fc.constant(1)), {
        maxLength: maxEndpoints,
        selector: ([i]) => i,
      }),
      fc.boolean(),
    )
    .map(([chosen, reweigh]): SelectorScriptStep => {
      const step = { op: 'update' as const, members: chosen.map(([i]) => i) };
      return weighted && reweigh ? { ...step, weights: chosen.map(([, w]) => w) } : step;
    });
  const pick = fc
    .tuple(
      keys ? fc.option(keyArbitrary(), { nil: undefined }) : fc.constant(undefined),
      fc.option(indexes, { nil: undefined }),
    )
    .map(([key, exclude]): SelectorScriptStep => {
      const step: { op: 'pick'; key?: string; exclude?: readonly number[] } = { op: 'pick' };
      if (key !== undefined) step.key = key;
      if (exclude !== undefined) step.exclude = exclude;
      return step;
    });
  const loadStep = fc.tuple(index, fc.nat({ max: 20 }), fc.nat({ max: 500 })).map(
    ([member, inflight, latency]): SelectorScriptStep => ({
      op: 'load',
      member,
      inflight,
      latency,
    }),
  );
  const step = fc.oneof(
    { arbitrary: pick, weight: 6 },
    { arbitrary: update, weight: 1 },
    { arbitrary: load ? loadStep : pick, weight: 2 },
  );
  return fc.record({
    endpoints: endpointsArbitrary({
      minLength: minEndpoints,
      maxLength: maxEndpoints,
      weighted,
      loaded: load,
    }),
    steps: fc.array(step, { maxLength: maxSteps }),
  });
}

/** What {@link replaySelectorScript} reports for each pick. */
export interface ScriptPick {
  /** Index of the step in `script.steps`. */
  readonly step: number;
  /** The context passed to `pick`. */
  readonly context: PickContext<TestEndpoint>;
  /** The set given to the latest `update`. */
  readonly current: readonly TestEndpoint[];
  /** What `pick` returned. */
  readonly result: SelectorEndpoint | undefined;
}

/** Copies a script's endpoints, so replays never share mutable state. @internal */
export function copyEndpoints(endpoints: readonly TestEndpoint[]): TestEndpoint[] {
  return endpoints.map((endpoint) => ({ ...endpoint }));
}

function members(universe: readonly TestEndpoint[], indexes: readonly number[]): TestEndpoint[] {
  const chosen = new Set<TestEndpoint>();
  for (const i of indexes) chosen.add(universe[i % universe.length]!);
  return [...chosen];
}

/**
 * Replays `script` on `selector`: `update` with a copy of every endpoint, then each step.
 * Calls `onPick` after each pick with what the selector saw and returned.
 *
 * @param selector - a fresh selector
 * @param script - from {@link selectorScriptArbitrary}, or written by hand
 * @param onPick - called after every pick; throw from it to fail a property
 * @returns the id picked at each `pick` step, `undefined` where none was
 * @throws whatever the selector or `onPick` throws
 * @example
 * ```ts
 * const a = replaySelectorScript(new Random({ random: seededRandom(1) }), script);
 * const b = replaySelectorScript(new Random({ random: seededRandom(1) }), script);
 * // a and b are equal
 * ```
 */
export function replaySelectorScript(
  selector: Selector<SelectorEndpoint>,
  script: SelectorScript,
  onPick?: (pick: ScriptPick) => void,
): (string | undefined)[] {
  const universe = copyEndpoints(script.endpoints);
  const picks: (string | undefined)[] = [];
  let current: readonly TestEndpoint[] = universe;
  selector.update(current);
  if (universe.length === 0) return picks;
  script.steps.forEach((step, i) => {
    if (step.op === 'update') {
      step.members.forEach((member, j) => {
        const weight = step.weights?.[j];
        if (weight !== undefined) universe[member % universe.length]!.weight = weight;
      });
      current = members(universe, step.members);
      selector.update(current);
    } else if (step.op === 'load') {
      const endpoint = universe[step.member % universe.length]!;
      endpoint.inflight = step.inflight;
      endpoint.latency = step.latency;
    } else {
      const context: PickContext<TestEndpoint> = {};
      if (step.key !== undefined) context.key = step.key;
      if (step.exclude !== undefined) {
        context.exclude = new Set(members(universe, step.exclude).map((e) => e.id));
      }
      const result = selector.pick(context);
      picks.push(result?.id);
      onPick?.({ step: i, context, current, result });
    }
  });
  return picks;
}

/** A one-line account of a step, with ids, for failure messages. @internal */
export function describeStep(step: SelectorScriptStep, universe: readonly TestEndpoint[]): string {
  const name = (i: number) => quote(universe[i % universe.length]?.id);
  if (step.op === 'update') {
    const list = step.members.map((m, j) =>
      step.weights === undefined ? name(m) : `${name(m)}×${step.weights[j]}`,
    );
    return `update([${list.join(', ')}])`;
  }
  if (step.op === 'load') {
    return `load(${name(step.member)}, inflight ${step.inflight}, latency ${step.latency})`;
  }
  const parts: string[] = [];
  if (step.key !== undefined) parts.push(`key ${quote(step.key)}`);
  if (step.exclude !== undefined) parts.push(`exclude [${step.exclude.map(name).join(', ')}]`);
  return `pick(${parts.join(', ')})`;
}
