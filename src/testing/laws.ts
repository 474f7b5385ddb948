import { checkFunction, checkNumber, checkOptions, quote } from '../validate.js';
import { DEFAULT_MAX_ENDPOINTS } from './arbitraries.js';
import {
  type LawSettings,
  LawViolation,
  type SelectorFactory,
  type SelectorKind,
} from './law-support.js';
import {
  checkDisruption,
  checkKeySpread,
  checkKeyStability,
  checkLeastLoaded,
  checkLoadSpread,
  checkShare,
} from './laws-kinds.js';
import {
  checkDeterminism,
  checkEligibility,
  checkRecovery,
  type LawRun,
} from './laws-universal.js';

export type { SelectorFactory, SelectorKind } from './law-support.js';

/**
 * The laws {@link checkSelectorLaws} checks:
 * - every kind: `'eligibility'`, `'determinism'`, `'recovery'`;
 * - `'balanced'` and `'weighted'`: `'share'`;
 * - `'least-loaded'`: `'least-loaded'`, `'load-spread'`;
 * - `'consistent'`: `'key-stability'`, `'disruption'`, `'key-spread'`.
 */
export type SelectorLaw =
  | 'eligibility'
  | 'determinism'
  | 'recovery'
  | 'share'
  | 'least-loaded'
  | 'load-spread'
  | 'key-stability'
  | 'disruption'
  | 'key-spread';

/** Runs per law, as fast-check's `numRuns`; statistical laws run fewer (see `numRuns`). */
export const DEFAULT_LAW_RUNS = 100;
/** Relative tolerance on pick shares for `'balanced'` and `'weighted'` selectors. */
export const DEFAULT_SHARE_TOLERANCE = 0.1;
/**
 * Relative tolerance on key shares for `'consistent'` selectors. A ring of 160 points per
 * endpoint gives each endpoint's share a relative standard deviation of 1/√160 ≈ 8 %, and
 * 0.4 is five of those.
 */
export const DEFAULT_KEY_SPREAD_TOLERANCE = 0.4;
/**
 * Share of the keys held by the other endpoints that may move when one endpoint leaves.
 * Ring hash and rendezvous move none; a Maglev table moves a few percent.
 */
export const DEFAULT_MAX_MOVED_SHARE = 0.05;
/** Largest max − min `inflight` allowed under steady load for `'least-loaded'` selectors. */
export const DEFAULT_MAX_LOAD_SPREAD = 24;

/** Options of {@link checkSelectorLaws}. */
export interface SelectorLawsOptions {
  /**
   * Which laws of its kind the selector keeps, besides the universal ones: `'balanced'`
   * (even shares), `'weighted'` (shares ∝ weight), `'least-loaded'` (avoids load) or
   * `'consistent'` (hashes keys). Required.
   */
  readonly kind: SelectorKind;
  /**
   * fast-check runs per law. The statistical laws, whose runs draw up to 200 000 picks,
   * run a tenth as often (`share`, `key-spread`) or a quarter (`load-spread`,
   * `disruption`), at least once.
   * @defaultValue {@link DEFAULT_LAW_RUNS} (100)
   */
  readonly numRuns?: number;
  /**
   * fast-check seed, to replay a failure (the error message gives the seed it used).
   * @defaultValue a new seed per call, chosen by fast-check
   */
  readonly seed?: number;
  /**
   * Relative tolerance on shares: `|observed − expected| ≤ tolerance × expected` for each
   * endpoint (`share`, `key-spread`). Picks are drawn until a uniformly random choice
   * would stay within it at six standard deviations (up to 200 000 picks; past that the
   * six-sigma bound is used instead).
   * @defaultValue {@link DEFAULT_SHARE_TOLERANCE} (0.1); {@link DEFAULT_KEY_SPREAD_TOLERANCE}
   *   (0.4) for `'consistent'`
   */
  readonly tolerance?: number;
  /**
   * `'consistent'`: the share of keys on other endpoints that may move when one leaves.
   * @defaultValue {@link DEFAULT_MAX_MOVED_SHARE} (0.05)
   */
  readonly maxMovedShare?: number;
  /**
   * `'least-loaded'`: the largest max − min `inflight` allowed under steady load (64
   * requests per endpoint in flight, a random one ending before each pick, equal weights
   * and latency). Least connections stays within 1 and power of two choices within about
   * 17 (n ≤ 8), while a uniform random choice reaches 20 to 60.
   * @defaultValue {@link DEFAULT_MAX_LOAD_SPREAD} (24)
   */
  readonly maxLoadSpread?: number;
  /**
   * Largest endpoint set the laws draw (at least 2).
   * @defaultValue {@link DEFAULT_MAX_ENDPOINTS} (8)
   */
  readonly maxEndpoints?: number;
  /**
   * Laws not to check, for a strategy that deliberately breaks one (say so in its docs).
   * @defaultValue `[]`
   */
  readonly skip?: readonly SelectorLaw[];
}

/** What {@link checkSelectorLaws} checked. */
export interface SelectorLawsReport {
  /** The kind the selector was checked as. */
  readonly kind: SelectorKind;
  /** The laws that held, in the order they ran. */
  readonly laws: readonly SelectorLaw[];
  /** The laws skipped on request. */
  readonly skipped: readonly SelectorLaw[];
}

const KIND_LAWS: Readonly<Record<SelectorKind, readonly SelectorLaw[]>> = {
  balanced: ['share'],
  weighted: ['share'],
  'least-loaded': ['least-loaded', 'load-spread'],
  consistent: ['key-stability', 'disruption', 'key-spread'],
};
const UNIVERSAL_LAWS: readonly SelectorLaw[] = ['eligibility', 'determinism', 'recovery'];
const ALL_LAWS = [...new Set([...UNIVERSAL_LAWS, ...Object.values(KIND_LAWS).flat()])];

const STATEMENTS: Readonly<Record<SelectorLaw, string>> = {
  eligibility:
    'pick returns only endpoints of the current set, never an excluded one, and undefined only when none is eligible',
  determinism: 'selectors built with identically seeded randoms make the same picks',
  recovery:
    'after an outage of every endpoint but one, each recovered endpoint is picked again within a bounded number of picks',
  share: 'each endpoint gets its share of picks (1/n, or weight/Σweight) within the tolerance',
  'least-loaded': 'with two or more endpoints, pick never returns the unique most loaded one',
  'load-spread': 'under steady load, max − min inflight stays within maxLoadSpread',
  'key-stability':
    'a key maps to the same endpoint on every call and on a fresh instance given the same set in any order, with or without exclude',
  disruption:
    'removing an endpoint moves at most maxMovedShare of the other keys, and restoring it restores the mapping',
  'key-spread': 'with equal weights, keys spread evenly over the endpoints within the tolerance',
};

const RUNNERS: Readonly<Record<SelectorLaw, (settings: LawSettings, run: LawRun) => void>> = {
  eligibility: checkEligibility,
  determinism: checkDeterminism,
  recovery: checkRecovery,
  share: checkShare,
  'least-loaded': checkLeastLoaded,
  'load-spread': checkLoadSpread,
  'key-stability': checkKeyStability,
  disruption: checkDisruption,
  'key-spread': checkKeySpread,
};

/** Runs-per-law divisor of the statistical laws. */
const RUN_DIVISOR: Partial<Record<SelectorLaw, number>> = {
  share: 10,
  'key-spread': 10,
  'load-spread': 4,
  disruption: 4,
};

/**
 * A selector law does not hold. The message states the law, what went wrong, and
 * fast-check's report: the seed, the shrunk counterexample and its replay path.
 */
export class SelectorLawError extends Error {
  /** The law that does not hold. */
  readonly law: SelectorLaw;
  /** The kind the selector was checked as. */
  readonly kind: SelectorKind;

  /**
   * @param law - the law that failed
   * @param kind - the kind checked
   * @param report - fast-check's failure report
   * @param options - `cause`: what the property threw
   */
  constructor(law: SelectorLaw, kind: SelectorKind, report: string, options?: { cause?: unknown }) {
    const cause = options?.cause;
    const what =
      cause instanceof LawViolation
        ? cause.message
        : cause === undefined
          ? ''
          : `the selector threw: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : quote(cause)}`;
    super(
      `selector law ${quote(law)} does not hold (kind ${quote(kind)}): ${STATEMENTS[law]}.\n${what}\n\n${report}`,
      options,
    );
    this.name = 'SelectorLawError';
    this.law = law;
    this.kind = kind;
  }
}

/**
 * Checks a selector against the laws every strategy keeps — only current, non-excluded
 * endpoints; `undefined` only when none is eligible; same seed, same picks; recovered
 * endpoints picked again soon — and the laws of its `kind`, with fast-check properties.
 * A plain function call: use it inside any test runner.
 *
 * `factory` is called many times and must return a fresh selector each time, drawing its
 * randomness only from the `random` it is given (a zero-argument factory suits a
 * selector that uses no randomness).
 *
 * @param factory - `(random) => new MySelector({ random })`
 * @param options - see {@link SelectorLawsOptions}
 * @returns the laws checked
 * @throws {@link SelectorLawError} for the first law that does not hold, with fast-check's
 *   counterexample and seed; TypeError or RangeError for a bad option or a factory that
 *   does not return a selector
 * @example
 * ```ts
 * import { checkSelectorLaws } from 'switchyard/testing';
 * test('MySelector keeps the laws', () => {
 *   checkSelectorLaws((random) => new MySelector({ random }), { kind: 'least-loaded' });
 * });
 * ```
 */
export function checkSelectorLaws(
  factory: SelectorFactory,
  options: SelectorLawsOptions,
): SelectorLawsReport {
  const owner = 'checkSelectorLaws';
  checkFunction<SelectorFactory>('factory', factory, owner);
  if (options === undefined) {
    throw new TypeError(`${owner}: options with a kind are required, got undefined`);
  }
  const opts = checkOptions(owner, options, [
    'kind',
    'numRuns',
    'seed',
    'tolerance',
    'maxMovedShare',
    'maxLoadSpread',
    'maxEndpoints',
    'skip',
  ]);
  const kind = opts.kind as SelectorKind;
  if (!Object.hasOwn(KIND_LAWS, kind as string)) {
    throw new TypeError(
      `kind must be one of ${Object.keys(KIND_LAWS).map(quote).join(', ')}, got ${quote(opts.kind)} (${owner})`,
    );
  }
  const numRuns =
    opts.numRuns === undefined
      ? DEFAULT_LAW_RUNS
      : checkNumber('numRuns', opts.numRuns, { min: 1, max: 1e6, integer: true }, owner);
  const seed =
    opts.seed === undefined ? undefined : checkNumber('seed', opts.seed, { integer: true }, owner);
  const tolerance =
    opts.tolerance === undefined
      ? kind === 'consistent'
        ? DEFAULT_KEY_SPREAD_TOLERANCE
        : DEFAULT_SHARE_TOLERANCE
      : checkNumber('tolerance', opts.tolerance, { min: 0, minExclusive: true, max: 10 }, owner);
  const maxMovedShare =
    opts.maxMovedShare === undefined
      ? DEFAULT_MAX_MOVED_SHARE
      : checkNumber('maxMovedShare', opts.maxMovedShare, { min: 0, max: 1 }, owner);
  const maxLoadSpread =
    opts.maxLoadSpread === undefined
      ? DEFAULT_MAX_LOAD_SPREAD
      : checkNumber('maxLoadSpread', opts.maxLoadSpread, { min: 0 }, owner);
  const maxEndpoints =
    opts.maxEndpoints === undefined
      ? DEFAULT_MAX_ENDPOINTS
      : checkNumber('maxEndpoints', opts.maxEndpoints, { min: 2, max: 64, integer: true }, owner);
  const skip = resolveSkip(opts.skip, owner);

  const probe: unknown = factory(() => 0.5);
  if (
    typeof probe !== 'object' ||
    probe === null ||
    typeof (probe as { update?: unknown }).update !== 'function' ||
    typeof (probe as { pick?: unknown }).pick !== 'function'
  ) {
    throw new TypeError(
      `${owner}: factory must return a selector (an object with update() and pick()), got ${quote(probe)}`,
    );
  }

  const settings: LawSettings = {
    factory,
    kind,
    maxEndpoints,
    tolerance,
    maxMovedShare,
    maxLoadSpread,
  };
  const laws: SelectorLaw[] = [];
  const skipped: SelectorLaw[] = [];
  for (const law of [...UNIVERSAL_LAWS, ...KIND_LAWS[kind]]) {
    if (skip.has(law)) {
      skipped.push(law);
      continue;
    }
    const runs = Math.max(1, Math.ceil(numRuns / (RUN_DIVISOR[law] ?? 1)));
    try {
      RUNNERS[law](settings, { numRuns: runs, seed });
    } catch (error) {
      const report = error instanceof Error ? error.message : String(error);
      throw new SelectorLawError(law, kind, report, {
        cause: error instanceof Error ? error.cause : undefined,
      });
    }
    laws.push(law);
  }
  return { kind, laws, skipped };
}

function resolveSkip(value: unknown, owner: string): ReadonlySet<SelectorLaw> {
  if (value === undefined) return new Set();
  if (!Array.isArray(value)) {
    throw new TypeError(`skip must be an array of law names, got ${quote(value)} (${owner})`);
  }
  for (const law of value) {
    if (!ALL_LAWS.includes(law as SelectorLaw)) {
      throw new RangeError(
        `skip: unknown law ${quote(law)}; the laws are ${ALL_LAWS.map(quote).join(', ')} (${owner})`,
      );
    }
  }
  return new Set(value as SelectorLaw[]);
}
