/**
 * switchyard/testing: test-time tools for load-balancing strategies.
 *
 * - {@link checkSelectorLaws} checks a selector against the laws every strategy keeps and
 *   those of its kind, with fast-check properties; it throws a readable
 *   {@link SelectorLawError} with the counterexample and seed, so it works as a plain call
 *   inside any test runner.
 * - fast-check arbitraries for endpoints, pick contexts and random selector scripts, for
 *   properties of your own.
 * - {@link seededRandom}, a small deterministic PRNG to inject as `random`.
 * - {@link simulate}, a discrete-event simulation in virtual time that compares strategies
 *   on a synthetic workload (latency distributions, failures, slow periods, outages), for
 *   one balancer or a fleet of them (`balancers: K`).
 *
 * `fast-check` (version 4) is an optional peer dependency of switchyard, needed only by
 * this entry: `npm install --save-dev fast-check`.
 *
 * @example
 * ```ts
 * import { checkSelectorLaws, simulate } from 'switchyard/testing';
 * import { PowerOfTwoChoices } from 'switchyard';
 *
 * checkSelectorLaws((random) => new PowerOfTwoChoices({ random }), { kind: 'least-loaded' });
 * ```
 * @module
 */
export {
  DEFAULT_MAX_ENDPOINTS,
  DEFAULT_MAX_STEPS,
  DEFAULT_MAX_WEIGHT,
  type EndpointArbitraryOptions,
  type EndpointsArbitraryOptions,
  endpointArbitrary,
  endpointsArbitrary,
  keyArbitrary,
  type PickContextArbitraryOptions,
  pickContextArbitrary,
  type TestEndpoint,
  weightArbitrary,
} from './arbitraries.js';
export {
  checkSelectorLaws,
  DEFAULT_KEY_SPREAD_TOLERANCE,
  DEFAULT_LAW_RUNS,
  DEFAULT_MAX_LOAD_SPREAD,
  DEFAULT_MAX_MOVED_SHARE,
  DEFAULT_SHARE_TOLERANCE,
  type SelectorFactory,
  type SelectorKind,
  type SelectorLaw,
  SelectorLawError,
  type SelectorLawsOptions,
  type SelectorLawsReport,
} from './laws.js';
export {
  replaySelectorScript,
  type ScriptPick,
  type SelectorScript,
  type SelectorScriptOptions,
  type SelectorScriptStep,
  selectorScriptArbitrary,
} from './script.js';
export { seededRandom } from './seeded-random.js';
export {
  DEFAULT_LATENCY_DECAY_MS,
  DEFAULT_SIMULATION_SEED,
  type FleetSelectorFactory,
  type LatencyDistribution,
  type LatencySummary,
  MAX_SIMULATION_BALANCERS,
  MAX_SIMULATION_REQUESTS,
  type SimulatedEndpoint,
  type SimulatedEndpointReport,
  type SimulationOptions,
  type SimulationPeriod,
  type SimulationReport,
  type SimulationWorkload,
  type SlowPeriod,
  simulate,
} from './simulate.js';
