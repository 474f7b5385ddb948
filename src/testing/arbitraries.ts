import * as fc from 'fast-check';
import type { PickContext, SelectorEndpoint } from '../selectors/selector.js';
import { checkBoolean, checkNumber, checkOptions } from '../validate.js';

/**
 * A plain, mutable endpoint for tests: what a selector reads, with `weight`, `inflight`
 * and `latency` writable so a test can play the pool's part.
 */
export interface TestEndpoint extends SelectorEndpoint {
  /** Stable identity, shaped like a loopback URL: `http://127.0.3.17:8042`. */
  readonly id: string;
  /** Relative capacity, finite and > 0. */
  weight: number;
  /** Requests in progress. */
  inflight: number;
  /** Smoothed latency in ms; 0 when unknown. */
  latency: number;
}

/** Largest weight {@link endpointArbitrary} draws when `weighted` is set. */
export const DEFAULT_MAX_WEIGHT = 10;
/** Largest endpoint list {@link endpointsArbitrary} and {@link selectorScriptArbitrary} draw. */
export const DEFAULT_MAX_ENDPOINTS = 8;
/** Longest script {@link selectorScriptArbitrary} draws, in steps. */
export const DEFAULT_MAX_STEPS = 40;
/** Largest `inflight` drawn for a loaded endpoint. */
const MAX_INFLIGHT = 20;
/** Largest `latency` (ms) drawn for a loaded endpoint. */
const MAX_LATENCY_MS = 500;
/** Upper bound on list lengths, so a typo cannot ask for a billion endpoints. */
const MAX_LENGTH = 1000;

/** Options of {@link endpointArbitrary}. */
export interface EndpointArbitraryOptions {
  /**
   * Draw weights — whole numbers from 1 to `maxWeight`, and now and then a multiple of
   * 0.25 — instead of giving every endpoint weight 1.
   * @defaultValue `false`
   */
  readonly weighted?: boolean;
  /**
   * Largest weight drawn when `weighted` is set.
   * @defaultValue {@link DEFAULT_MAX_WEIGHT} (10)
   */
  readonly maxWeight?: number;
  /**
   * Draw `inflight` (0–20) and `latency` (0–500 ms) instead of starting them at 0.
   * @defaultValue `false`
   */
  readonly loaded?: boolean;
}

/** Options of {@link endpointsArbitrary}. */
export interface EndpointsArbitraryOptions extends EndpointArbitraryOptions {
  /**
   * Fewest endpoints in a list.
   * @defaultValue `1`
   */
  readonly minLength?: number;
  /**
   * Most endpoints in a list.
   * @defaultValue {@link DEFAULT_MAX_ENDPOINTS} (8)
   */
  readonly maxLength?: number;
}

const ENDPOINT_OPTIONS = ['weighted', 'maxWeight', 'loaded'] as const;

interface ResolvedEndpointOptions {
  readonly weighted: boolean;
  readonly maxWeight: number;
  readonly loaded: boolean;
}

function resolveEndpointOptions(
  owner: string,
  opts: Record<string, unknown>,
): ResolvedEndpointOptions {
  return {
    weighted: opts.weighted === undefined ? false : checkBoolean('weighted', opts.weighted, owner),
    maxWeight:
      opts.maxWeight === undefined
        ? DEFAULT_MAX_WEIGHT
        : checkNumber('maxWeight', opts.maxWeight, { min: 1, max: 1e6 }, owner),
    loaded: opts.loaded === undefined ? false : checkBoolean('loaded', opts.loaded, owner),
  };
}

/** Loopback-looking ids; they shrink towards `http://127.0.0.1:8001`. */
function idArbitrary(): fc.Arbitrary<string> {
  return fc
    .tuple(fc.nat({ max: 255 }), fc.nat({ max: 253 }), fc.nat({ max: 98 }))
    .map(([b, c, port]) => `http://127.0.${b}.${c + 1}:${8001 + port}`);
}

/** Weights drawn when `weighted` is set: mostly whole numbers, sometimes quarters. */
export function weightArbitrary(maxWeight = DEFAULT_MAX_WEIGHT): fc.Arbitrary<number> {
  checkNumber('maxWeight', maxWeight, { min: 1, max: 1e6 }, 'weightArbitrary');
  const whole = Math.max(1, Math.floor(maxWeight));
  return fc.oneof(
    { arbitrary: fc.integer({ min: 1, max: whole }), weight: 3 },
    {
      arbitrary: fc.integer({ min: 1, max: Math.floor(maxWeight * 4) }).map((q) => q / 4),
      weight: 1,
    },
  );
}

function endpointFrom(options: ResolvedEndpointOptions): fc.Arbitrary<TestEndpoint> {
  const weight = options.weighted ? weightArbitrary(options.maxWeight) : fc.constant(1);
  const inflight = options.loaded ? fc.nat({ max: MAX_INFLIGHT }) : fc.constant(0);
  const latency = options.loaded ? fc.nat({ max: MAX_LATENCY_MS }) : fc.constant(0);
  return fc
    .tuple(idArbitrary(), weight, inflight, latency)
    .map(([id, w, i, l]): TestEndpoint => ({ id, weight: w, inflight: i, latency: l }));
}

/**
 * One {@link TestEndpoint} with a loopback-looking id.
 *
 * @param options - see {@link EndpointArbitraryOptions}
 * @throws TypeError or RangeError for an unknown or invalid option
 * @example
 * ```ts
 * fc.assert(fc.property(endpointArbitrary({ weighted: true }), (endpoint) => {
 *   selector.update([endpoint]);
 *   return selector.pick() === endpoint;
 * }));
 * ```
 */
export function endpointArbitrary(options?: EndpointArbitraryOptions): fc.Arbitrary<TestEndpoint> {
  const opts = checkOptions('endpointArbitrary', options, ENDPOINT_OPTIONS);
  return endpointFrom(resolveEndpointOptions('endpointArbitrary', opts));
}

/**
 * A list of {@link TestEndpoint}s with unique ids. Each value is a fresh array of fresh
 * objects, so a property may mutate `inflight` and `latency` freely.
 *
 * @param options - see {@link EndpointsArbitraryOptions}
 * @throws TypeError or RangeError for an unknown or invalid option, or `minLength > maxLength`
 * @example
 * ```ts
 * fc.assert(fc.property(endpointsArbitrary({ minLength: 2, weighted: true }), (endpoints) => {
 *   selector.update(endpoints);
 *   return endpoints.includes(selector.pick()!);
 * }));
 * ```
 */
export function endpointsArbitrary(
  options?: EndpointsArbitraryOptions,
): fc.Arbitrary<TestEndpoint[]> {
  const owner = 'endpointsArbitrary';
  const opts = checkOptions(owner, options, [...ENDPOINT_OPTIONS, 'minLength', 'maxLength']);
  const minLength =
    opts.minLength === undefined
      ? 1
      : checkNumber('minLength', opts.minLength, { min: 0, max: MAX_LENGTH, integer: true }, owner);
  const maxLength =
    opts.maxLength === undefined
      ? Math.max(minLength, DEFAULT_MAX_ENDPOINTS)
      : checkNumber('maxLength', opts.maxLength, { min: 0, max: MAX_LENGTH, integer: true }, owner);
  if (minLength > maxLength) {
    throw new RangeError(
      `minLength must be <= maxLength, got minLength ${minLength} and maxLength ${maxLength} (${owner})`,
    );
  }
  return fc
    .uniqueArray(endpointFrom(resolveEndpointOptions(owner, opts)), {
      minLength,
      maxLength,
      selector: (endpoint) => endpoint.id,
    })
    .map((endpoints) => endpoints.map((endpoint) => ({ ...endpoint })));
}

/**
 * Hash keys as they come in practice — `user-42`, short ASCII, and arbitrary UTF-16
 * (lone surrogates included) — for hashing selectors.
 *
 * @example
 * ```ts
 * fc.assert(fc.property(keyArbitrary(), (key) => selector.pick({ key }) === selector.pick({ key })));
 * ```
 */
export function keyArbitrary(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.nat().map((n) => `user-${n}`),
    fc.string({ maxLength: 24 }),
    // Any UTF-16 code units, lone surrogates included (cheaper than fast-check's 'binary' unit).
    fc
      .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 12 })
      .map((units) => String.fromCharCode(...units)),
  );
}

/** Options of {@link pickContextArbitrary}. */
export interface PickContextArbitraryOptions {
  /**
   * Draw a `key` (about half of the time).
   * @defaultValue `true`
   */
  readonly keys?: boolean;
  /**
   * Draw an `exclude` set from `ids` (about half of the time; possibly all of them).
   * @defaultValue `true`
   */
  readonly exclude?: boolean;
}

/**
 * A {@link PickContext}: with or without a key, with or without an `exclude` set drawn
 * from `ids` (which may hold ids the selector does not know, to check they are ignored).
 *
 * @param ids - the ids `exclude` is drawn from
 * @param options - see {@link PickContextArbitraryOptions}
 * @throws TypeError for an unknown option or `ids` that is not an array of strings
 * @example
 * ```ts
 * fc.assert(fc.property(pickContextArbitrary(endpoints.map((e) => e.id)), (context) => {
 *   const picked = selector.pick(context);
 *   return picked === undefined || !context.exclude?.has(picked.id);
 * }));
 * ```
 */
export function pickContextArbitrary(
  ids: readonly string[],
  options?: PickContextArbitraryOptions,
): fc.Arbitrary<PickContext<TestEndpoint>> {
  const owner = 'pickContextArbitrary';
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) {
    throw new TypeError(`${owner}: ids must be an array of strings`);
  }
  const opts = checkOptions(owner, options, ['keys', 'exclude']);
  const keys = opts.keys === undefined ? true : checkBoolean('keys', opts.keys, owner);
  const exclude = opts.exclude === undefined ? true : checkBoolean('exclude', opts.exclude, owner);
  const copy = [...ids];
  return fc
    .tuple(
      keys ? fc.option(keyArbitrary(), { nil: undefined }) : fc.constant(undefined),
      exclude ? fc.option(fc.subarray(copy), { nil: undefined }) : fc.constant(undefined),
    )
    .map(([key, excluded]) => {
      const context: PickContext<TestEndpoint> = {};
      if (key !== undefined) context.key = key;
      if (excluded !== undefined) context.exclude = new Set(excluded);
      return context;
    });
}
