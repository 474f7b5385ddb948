import { describe, it } from 'vitest';
import {
  LeastConnections,
  Maglev,
  PeakEwma,
  PowerOfTwoChoices,
  Random,
  Rendezvous,
  RingHash,
  RoundRobin,
  WeightedRandom,
  WeightedRoundRobin,
} from '../../src/index.js';
import {
  checkSelectorLaws,
  type SelectorFactory,
  type SelectorLawsOptions,
} from '../../src/testing/index.js';

// Every built-in selector against the laws of switchyard/testing (SPEC §10), with
// fast-check's random seed: a failure prints the seed to replay it with `seed`.
// Where the algorithm promises more than the defaults ask, the options tighten the law:
// ring hash and rendezvous move no key of another endpoint when one leaves (SPEC §2),
// and Maglev and rendezvous spread keys within 10 %, like the uniform selectors.
const cases: readonly [string, SelectorFactory, SelectorLawsOptions][] = [
  ['RoundRobin', (random) => new RoundRobin({ random }), { kind: 'balanced' }],
  ['Random', (random) => new Random({ random }), { kind: 'balanced' }],
  ['WeightedRoundRobin', (random) => new WeightedRoundRobin({ random }), { kind: 'weighted' }],
  ['WeightedRandom', (random) => new WeightedRandom({ random }), { kind: 'weighted' }],
  ['LeastConnections', (random) => new LeastConnections({ random }), { kind: 'least-loaded' }],
  ['PowerOfTwoChoices', (random) => new PowerOfTwoChoices({ random }), { kind: 'least-loaded' }],
  ['PeakEwma', (random) => new PeakEwma({ random }), { kind: 'least-loaded' }],
  ['RingHash', (random) => new RingHash({ random }), { kind: 'consistent', maxMovedShare: 0 }],
  ['Maglev', (random) => new Maglev({ random }), { kind: 'consistent', tolerance: 0.1 }],
  [
    'Rendezvous',
    (random) => new Rendezvous({ random }),
    { kind: 'consistent', tolerance: 0.1, maxMovedShare: 0 },
  ],
];

describe('built-in selectors keep the selector laws', () => {
  for (const [name, factory, options] of cases) {
    it(`${name} (${options.kind})`, () => {
      checkSelectorLaws(factory, options);
    });
  }
});
