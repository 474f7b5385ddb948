import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { PickContext, Selector, SelectorEndpoint } from '../../src/selectors/selector.js';
import {
  endpointArbitrary,
  endpointsArbitrary,
  keyArbitrary,
  pickContextArbitrary,
  replaySelectorScript,
  type SelectorScript,
  selectorScriptArbitrary,
} from '../../src/testing/index.js';

const LOOPBACK_ID = /^http:\/\/127\.0\.\d{1,3}\.\d{1,3}:\d{4}$/;

/** Records every call; picks the first non-excluded endpoint. */
class Recorder implements Selector {
  readonly calls: string[] = [];
  #endpoints: readonly SelectorEndpoint[] = [];
  update(endpoints: readonly SelectorEndpoint[]): void {
    this.#endpoints = endpoints;
    this.calls.push(`update ${endpoints.map((e) => `${e.id}×${e.weight}`).join(' ')}`);
  }
  pick(context?: PickContext): SelectorEndpoint | undefined {
    this.calls.push(`pick ${context?.key ?? '-'} ${[...(context?.exclude ?? [])].join(' ')}`);
    return this.#endpoints.find((e) => context?.exclude?.has(e.id) !== true);
  }
}

describe('endpointArbitrary / endpointsArbitrary', () => {
  test.prop([endpointArbitrary()])(
    'unweighted endpoints: weight 1, no load, a loopback id',
    (e) => {
      expect(e).toEqual({
        id: expect.stringMatching(LOOPBACK_ID),
        weight: 1,
        inflight: 0,
        latency: 0,
      });
    },
  );

  test.prop([endpointArbitrary({ weighted: true, maxWeight: 3, loaded: true })])(
    'weighted, loaded endpoints stay in range',
    (e) => {
      expect(e.weight).toBeGreaterThan(0);
      expect(e.weight).toBeLessThanOrEqual(3);
      expect(Number.isInteger(e.weight * 4)).toBe(true);
      expect(e.inflight).toBeGreaterThanOrEqual(0);
      expect(e.inflight).toBeLessThanOrEqual(20);
      expect(e.latency).toBeGreaterThanOrEqual(0);
      expect(e.latency).toBeLessThanOrEqual(500);
    },
  );

  test.prop([endpointsArbitrary({ minLength: 2, maxLength: 5 })])(
    'lists have unique ids and the requested length',
    (endpoints) => {
      expect(endpoints.length).toBeGreaterThanOrEqual(2);
      expect(endpoints.length).toBeLessThanOrEqual(5);
      expect(new Set(endpoints.map((e) => e.id)).size).toBe(endpoints.length);
    },
  );

  it('defaults to 1 to 8 endpoints', () => {
    const lengths = fc.sample(endpointsArbitrary(), { numRuns: 200, seed: 1 }).map((l) => l.length);
    expect(Math.min(...lengths)).toBe(1);
    expect(Math.max(...lengths)).toBe(8);
  });

  it('rejects bad options', () => {
    expect(() => endpointArbitrary({ weigthed: true } as never)).toThrow(
      /^endpointArbitrary got an unknown option "weigthed"/,
    );
    expect(() => endpointArbitrary({ maxWeight: 0 })).toThrow(
      /^maxWeight must be a finite number >= 1 and <= 1000000, got 0 \(endpointArbitrary\)/,
    );
    expect(() => endpointArbitrary({ loaded: 'yes' as never })).toThrow(
      /^loaded must be a boolean/,
    );
    expect(() => endpointsArbitrary({ minLength: -1 })).toThrow(
      /^minLength must be an integer >= 0/,
    );
    expect(() => endpointsArbitrary({ maxLength: 1.5 })).toThrow(/^maxLength must be an integer/);
    expect(() => endpointsArbitrary({ minLength: 3, maxLength: 2 })).toThrow(
      /^minLength must be <= maxLength, got minLength 3 and maxLength 2/,
    );
  });
});

describe('pickContextArbitrary / keyArbitrary', () => {
  const ids = ['http://127.0.0.1:8001', 'http://127.0.0.1:8002', 'http://127.0.0.1:8003'];

  test.prop([pickContextArbitrary(ids)])('exclude sets are subsets of the ids', (context) => {
    for (const id of context.exclude ?? []) expect(ids).toContain(id);
    expect(Object.keys(context).every((k) => k === 'key' || k === 'exclude')).toBe(true);
  });

  it('draws keys and exclude sets only when asked', () => {
    const none = fc.sample(pickContextArbitrary(ids, { keys: false, exclude: false }), 50);
    expect(none.every((c) => Object.keys(c).length === 0)).toBe(true);
    const some = fc.sample(pickContextArbitrary(ids), { numRuns: 200, seed: 2 });
    expect(some.some((c) => c.key !== undefined)).toBe(true);
    expect(some.some((c) => c.exclude !== undefined && c.exclude.size === ids.length)).toBe(true);
  });

  it('draws keys of several shapes, lone surrogates included', () => {
    const keys = fc.sample(keyArbitrary(), { numRuns: 500, seed: 3 });
    expect(keys.some((k) => /^user-\d+$/.test(k))).toBe(true);
    // A lone surrogate: a high one not followed by a low one, or a low one not preceded by a high.
    const lone = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
    expect(keys.some((k) => lone.test(k))).toBe(true);
  });

  it('rejects bad arguments', () => {
    expect(() => pickContextArbitrary('a' as never)).toThrow(/ids must be an array of strings/);
    expect(() => pickContextArbitrary(ids, { key: true } as never)).toThrow(/unknown option "key"/);
  });
});

describe('selectorScriptArbitrary / replaySelectorScript', () => {
  test.prop([selectorScriptArbitrary({ maxEndpoints: 4, maxSteps: 10 })])(
    'scripts stay within their bounds',
    (script) => {
      expect(script.endpoints.length).toBeGreaterThanOrEqual(1);
      expect(script.endpoints.length).toBeLessThanOrEqual(4);
      expect(script.steps.length).toBeLessThanOrEqual(10);
    },
  );

  it('replays: update with all first, indexes modulo the universe, weights by position', () => {
    const script: SelectorScript = {
      endpoints: [
        { id: 'a', weight: 1, inflight: 0, latency: 0 },
        { id: 'b', weight: 1, inflight: 0, latency: 0 },
      ],
      steps: [
        { op: 'pick', key: 'k', exclude: [0] },
        { op: 'update', members: [3, 1, 0], weights: [5, 6, 7] },
        { op: 'load', member: 2, inflight: 4, latency: 9 },
        { op: 'pick', exclude: [0, 1] },
        { op: 'update', members: [] },
        { op: 'pick' },
      ],
    };
    const recorder = new Recorder();
    const seen: number[] = [];
    const picks = replaySelectorScript(recorder, script, ({ step, current }) => {
      seen.push(step);
      if (step === 3)
        expect(current.find((e) => e.id === 'a')).toMatchObject({ inflight: 4, latency: 9 });
    });
    expect(recorder.calls).toEqual([
      'update a×1 b×1',
      'pick k a',
      'update b×6 a×7',
      'pick - a b',
      'update ',
      'pick - ',
    ]);
    expect(picks).toEqual(['b', undefined, undefined]);
    expect(seen).toEqual([0, 3, 5]);
    // The script itself is left untouched: replays work on copies.
    expect(script.endpoints[0]).toEqual({ id: 'a', weight: 1, inflight: 0, latency: 0 });
  });

  it('rejects bad options', () => {
    expect(() => selectorScriptArbitrary({ maxEndpoints: 0 })).toThrow(
      /^maxEndpoints must be an integer >= 1/,
    );
    expect(() => selectorScriptArbitrary({ minEndpoints: 5, maxEndpoints: 2 })).toThrow(
      /^minEndpoints must be <= maxEndpoints/,
    );
    expect(() => selectorScriptArbitrary({ maxSteps: -1 })).toThrow(
      /^maxSteps must be an integer >= 0/,
    );
    expect(() => selectorScriptArbitrary({ keys: 1 } as never)).toThrow(/^keys must be a boolean/);
    expect(() => selectorScriptArbitrary({ steps: 3 } as never)).toThrow(/unknown option "steps"/);
  });
});
