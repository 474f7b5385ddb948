import { describe, expect, expectTypeOf, it } from 'vitest';
import { murmur3 } from '../../src/selectors/hash.js';
import type { PickContext, Selector, SelectorEndpoint } from '../../src/selectors/selector.js';
import {
  checkSelectorLaws,
  type SelectorFactory,
  SelectorLawError,
  type SelectorLawsOptions,
} from '../../src/testing/index.js';

// Small selectors written here, right and wrong, to check the kit itself. `numRuns` is
// lowered where a law needs only a few runs to catch the fault, to keep the file fast.

function eligible(
  endpoints: readonly SelectorEndpoint[],
  context: PickContext | undefined,
): SelectorEndpoint[] {
  const exclude = context?.exclude;
  return exclude === undefined ? [...endpoints] : endpoints.filter((e) => !exclude.has(e.id));
}

/** Correct: deterministic round robin, no randomness at all. */
class PlainRoundRobin implements Selector {
  #endpoints: readonly SelectorEndpoint[] = [];
  #next = 0;
  update(endpoints: readonly SelectorEndpoint[]): void {
    this.#endpoints = endpoints;
  }
  pick(context?: PickContext): SelectorEndpoint | undefined {
    const n = this.#endpoints.length;
    for (let i = 0; i < n; i++) {
      const endpoint = this.#endpoints[(this.#next + i) % n]!;
      if (context?.exclude?.has(endpoint.id) !== true) {
        this.#next = (this.#next + i + 1) % n;
        return endpoint;
      }
    }
    return undefined;
  }
}

/** Correct: least connections, ties broken at random. */
class PlainLeastConnections implements Selector {
  readonly #random: () => number;
  #endpoints: readonly SelectorEndpoint[] = [];
  constructor(random: () => number) {
    this.#random = random;
  }
  update(endpoints: readonly SelectorEndpoint[]): void {
    this.#endpoints = endpoints;
  }
  pick(context?: PickContext): SelectorEndpoint | undefined {
    const candidates = eligible(this.#endpoints, context);
    let low = Number.POSITIVE_INFINITY;
    for (const e of candidates) low = Math.min(low, e.inflight / e.weight);
    const best = candidates.filter((e) => e.inflight / e.weight === low);
    return best[Math.floor(this.#random() * best.length)];
  }
}

/** Correct: weighted rendezvous hashing; keyless picks at random. */
class PlainRendezvous implements Selector {
  readonly #random: () => number;
  #endpoints: readonly SelectorEndpoint[] = [];
  constructor(random: () => number) {
    this.#random = random;
  }
  update(endpoints: readonly SelectorEndpoint[]): void {
    this.#endpoints = endpoints;
  }
  pick(context?: PickContext): SelectorEndpoint | undefined {
    const candidates = eligible(this.#endpoints, context);
    if (context?.key === undefined)
      return candidates[Math.floor(this.#random() * candidates.length)];
    const hash = murmur3(context.key);
    let best: SelectorEndpoint | undefined;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (const e of candidates) {
      const u = (murmur3(e.id, hash) + 0.5) / 2 ** 32;
      const score = -e.weight / Math.log(u);
      if (score > bestScore || (score === bestScore && best !== undefined && e.id < best.id)) {
        best = e;
        bestScore = score;
      }
    }
    return best;
  }
}

/** Wrong: ignores `exclude`. */
class IgnoresExclude extends PlainRoundRobin {
  override pick(): SelectorEndpoint | undefined {
    return super.pick();
  }
}

/** Wrong: keeps the endpoints of its first update. */
class Stale extends PlainRoundRobin {
  #updated = false;
  override update(endpoints: readonly SelectorEndpoint[]): void {
    if (!this.#updated) super.update(endpoints);
    this.#updated = true;
  }
}

/** Wrong: draws from Math.random instead of the random it is given. */
class UsesMathRandom extends PlainLeastConnections {
  constructor() {
    super(Math.random);
  }
}

/** Wrong: always the first eligible endpoint. */
class AlwaysFirst implements Selector {
  #endpoints: readonly SelectorEndpoint[] = [];
  update(endpoints: readonly SelectorEndpoint[]): void {
    this.#endpoints = endpoints;
  }
  pick(context?: PickContext): SelectorEndpoint | undefined {
    return eligible(this.#endpoints, context)[0];
  }
}

/** Wrong for 'least-loaded': the most loaded endpoint. */
class MostLoaded implements Selector {
  #endpoints: readonly SelectorEndpoint[] = [];
  update(endpoints: readonly SelectorEndpoint[]): void {
    this.#endpoints = endpoints;
  }
  pick(context?: PickContext): SelectorEndpoint | undefined {
    let most: SelectorEndpoint | undefined;
    for (const e of eligible(this.#endpoints, context)) {
      if (most === undefined || e.inflight > most.inflight) most = e;
    }
    return most;
  }
}

/** Wrong for 'least-loaded': uniform random, blind to load. */
class Uniform extends PlainRendezvous {
  override pick(context?: PickContext): SelectorEndpoint | undefined {
    const { key: _, ...rest } = context ?? {};
    return super.pick(rest);
  }
}

/** Wrong for 'consistent': `hash(key) mod n` over the endpoints sorted by id. */
class ModuloHash extends PlainRendezvous {
  #sorted: SelectorEndpoint[] = [];
  override update(endpoints: readonly SelectorEndpoint[]): void {
    super.update(endpoints);
    this.#sorted = [...endpoints].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
  override pick(context?: PickContext): SelectorEndpoint | undefined {
    if (context?.key === undefined) return super.pick(context);
    const candidates = eligible(this.#sorted, context);
    return candidates[murmur3(context.key) % candidates.length];
  }
}

function failure(factory: SelectorFactory, options: SelectorLawsOptions): SelectorLawError {
  try {
    checkSelectorLaws(factory, { seed: 1, ...options });
  } catch (error) {
    if (error instanceof SelectorLawError) return error;
    throw error;
  }
  throw new Error('checkSelectorLaws passed a broken selector');
}

describe('checkSelectorLaws passes correct selectors', () => {
  it('a deterministic round robin as balanced (a zero-argument factory)', () => {
    const report = checkSelectorLaws(() => new PlainRoundRobin(), { kind: 'balanced' });
    expect(report).toEqual({
      kind: 'balanced',
      laws: ['eligibility', 'determinism', 'recovery', 'share'],
      skipped: [],
    });
  });

  it('least connections as least-loaded', () => {
    const report = checkSelectorLaws((random) => new PlainLeastConnections(random), {
      kind: 'least-loaded',
    });
    expect(report.laws).toEqual([
      'eligibility',
      'determinism',
      'recovery',
      'least-loaded',
      'load-spread',
    ]);
  });

  it('weighted rendezvous as consistent, with no key moving and a tight spread', () => {
    const report = checkSelectorLaws((random) => new PlainRendezvous(random), {
      kind: 'consistent',
      tolerance: 0.1,
      maxMovedShare: 0,
    });
    expect(report.laws).toEqual([
      'eligibility',
      'determinism',
      'recovery',
      'key-stability',
      'disruption',
      'key-spread',
    ]);
  });

  it('skips the laws it is told to skip', () => {
    const report = checkSelectorLaws(() => new UsesMathRandom(), {
      kind: 'least-loaded',
      skip: ['determinism'],
      numRuns: 10,
    });
    expect(report.skipped).toEqual(['determinism']);
    expect(report.laws).not.toContain('determinism');
  });
});

describe('checkSelectorLaws catches broken selectors', () => {
  it('one that returns excluded endpoints', () => {
    const error = failure(() => new IgnoresExclude(), { kind: 'balanced' });
    expect(error.law).toBe('eligibility');
    expect(error.kind).toBe('balanced');
    expect(error.message).toMatch(/^selector law "eligibility" does not hold \(kind "balanced"\)/);
    expect(error.message).toMatch(/which was excluded/);
    expect(error.message).toMatch(/Counterexample: /);
    expect(error.message).toMatch(/seed: 1,/);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('one that keeps stale endpoints', () => {
    const error = failure(() => new Stale(), { kind: 'balanced' });
    expect(error.law).toBe('eligibility');
    expect(error.message).toMatch(/not in the current set|returned undefined although/);
  });

  it('one that ignores its random', () => {
    const error = failure(() => new UsesMathRandom(), { kind: 'least-loaded' });
    expect(error.law).toBe('determinism');
    expect(error.message).toMatch(/Pass the factory’s `random` argument to the selector/);
  });

  it('one that always picks the first endpoint, as balanced', () => {
    const error = failure(() => new AlwaysFirst(), { kind: 'balanced' });
    expect(['recovery', 'share']).toContain(error.law);
  });

  it('one that always picks the first endpoint, as weighted (after recovery is skipped)', () => {
    const error = failure(() => new AlwaysFirst(), { kind: 'weighted', skip: ['recovery'] });
    expect(error.law).toBe('share');
    expect(error.message).toMatch(/picks are not proportional to weight/);
    expect(error.message).toMatch(/✗ "http:\/\/127\./);
  });

  it('one that picks the most loaded endpoint, as least-loaded', () => {
    const error = failure(() => new MostLoaded(), { kind: 'least-loaded', skip: ['recovery'] });
    expect(error.law).toBe('least-loaded');
    expect(error.message).toMatch(/the unique most loaded endpoint/);
  });

  it('one blind to load, as least-loaded: the spread law', () => {
    const error = failure((random) => new Uniform(random), {
      kind: 'least-loaded',
      skip: ['least-loaded'],
    });
    expect(error.law).toBe('load-spread');
    expect(error.message).toMatch(/inflight spread is \d+ > maxLoadSpread 24/);
  });

  it('mod-n hashing, as consistent: the disruption law', () => {
    const error = failure((random) => new ModuloHash(random), { kind: 'consistent' });
    expect(error.law).toBe('disruption');
    expect(error.message).toMatch(/moved \d+ of the \d+ keys held by other endpoints/);
  });

  it('a hashing selector that ignores the key, as consistent', () => {
    const error = failure((random) => new Uniform(random), { kind: 'consistent' });
    expect(error.law).toBe('key-stability');
  });

  it('a selector that throws, reporting what it threw', () => {
    const error = failure(
      () => ({
        update() {},
        pick() {
          throw new RangeError('nope');
        },
      }),
      { kind: 'balanced' },
    );
    expect(error.message).toMatch(/the selector threw: RangeError: nope/);
  });

  it('reproduces a failure from its seed', () => {
    const a = failure(() => new IgnoresExclude(), { kind: 'balanced', seed: 99 });
    const b = failure(() => new IgnoresExclude(), { kind: 'balanced', seed: 99 });
    expect(a.message).toBe(b.message);
  });
});

describe('checkSelectorLaws options', () => {
  const factory = () => new PlainRoundRobin();
  const call = (options: unknown) => () =>
    checkSelectorLaws(factory, options as SelectorLawsOptions);

  it('accepts zero- and one-argument factories (types)', () => {
    expectTypeOf(checkSelectorLaws).toBeCallableWith(() => new PlainRoundRobin(), {
      kind: 'balanced',
    });
    expectTypeOf(checkSelectorLaws).toBeCallableWith(
      (random: () => number) => new PlainLeastConnections(random),
      { kind: 'least-loaded' },
    );
  });

  it('rejects bad options, naming them', () => {
    expect(call(undefined)).toThrow(/^checkSelectorLaws: options with a kind are required/);
    expect(call({})).toThrow(
      /^kind must be one of "balanced", "weighted", "least-loaded", "consistent", got undefined/,
    );
    expect(call({ kind: 'fair' })).toThrow(/kind must be one of .*got "fair"/);
    expect(call({ kind: 'balanced', numRuns: 0 })).toThrow(
      /^numRuns must be an integer >= 1 and <= 1000000, got 0/,
    );
    expect(call({ kind: 'balanced', seed: 0.5 })).toThrow(/^seed must be an integer, got 0.5/);
    expect(call({ kind: 'balanced', tolerance: 0 })).toThrow(
      /^tolerance must be a finite number > 0 and <= 10, got 0/,
    );
    expect(call({ kind: 'consistent', maxMovedShare: 2 })).toThrow(
      /^maxMovedShare must be .*got 2/,
    );
    expect(call({ kind: 'least-loaded', maxLoadSpread: -1 })).toThrow(
      /^maxLoadSpread must be .*got -1/,
    );
    expect(call({ kind: 'balanced', maxEndpoints: 1 })).toThrow(
      /^maxEndpoints must be an integer >= 2 and <= 64, got 1/,
    );
    expect(call({ kind: 'balanced', skip: 'share' })).toThrow(
      /^skip must be an array of law names, got "share"/,
    );
    expect(call({ kind: 'balanced', skip: ['fairness'] })).toThrow(
      /^skip: unknown law "fairness"; the laws are "eligibility"/,
    );
    expect(call({ kind: 'balanced', runs: 5 })).toThrow(
      /^checkSelectorLaws got an unknown option "runs"/,
    );
  });

  it('rejects a factory that is not one, or does not return a selector', () => {
    expect(() => checkSelectorLaws(42 as unknown as SelectorFactory, { kind: 'balanced' })).toThrow(
      /^factory must be a function, got 42 \(checkSelectorLaws\)/,
    );
    expect(() =>
      checkSelectorLaws((() => ({ pick() {} })) as unknown as SelectorFactory, {
        kind: 'balanced',
      }),
    ).toThrow(
      /^checkSelectorLaws: factory must return a selector \(an object with update\(\) and pick\(\)\)/,
    );
  });
});
