/**
 * The laws every selector keeps, whatever its kind: eligibility, determinism, recovery.
 * @internal
 */
import * as fc from 'fast-check';
import type { SelectorEndpoint } from '../selectors/selector.js';
import { quote } from '../validate.js';
import { endpointsArbitrary, type TestEndpoint } from './arbitraries.js';
import {
  build,
  FifoLoad,
  type LawSettings,
  LawViolation,
  listIds,
  randomKey,
} from './law-support.js';
import {
  copyEndpoints,
  describeStep,
  replaySelectorScript,
  type SelectorScript,
  selectorScriptArbitrary,
} from './script.js';
import { seededRandom } from './seeded-random.js';

/** fast-check parameters a law runs with. @internal */
export interface LawRun {
  readonly numRuns: number;
  readonly seed: number | undefined;
}

/** fast-check parameters for `run`, leaving `seed` out when unset. @internal */
export function parameters(run: LawRun, endOnFailure = false): fc.Parameters<unknown> {
  const params: fc.Parameters<unknown> = { numRuns: run.numRuns, endOnFailure };
  if (run.seed !== undefined) params.seed = run.seed;
  return params;
}

/** The script up to step `upto`, newest last, for failure messages. */
function trace(script: SelectorScript, upto: number): string {
  const lines = [`update(${listIds(script.endpoints)})`];
  for (let i = 0; i <= upto && i < script.steps.length; i++) {
    lines.push(describeStep(script.steps[i]!, script.endpoints));
  }
  const shown = lines.length > 16 ? ['…', ...lines.slice(-15)] : lines;
  return `steps:\n${shown.map((line) => `  ${line}`).join('\n')}`;
}

/** Only current, non-excluded endpoints; `undefined` exactly when none is eligible. */
export function checkEligibility(settings: LawSettings, run: LawRun): void {
  const scripts = selectorScriptArbitrary({ maxEndpoints: settings.maxEndpoints });
  const property = fc.property(scripts, fc.integer(), (script, seed) => {
    const selector = build(settings, seed);
    replaySelectorScript(selector, script, ({ step, context, current, result }) => {
      const exclude = context.exclude;
      let eligible = 0;
      for (const endpoint of current) if (exclude?.has(endpoint.id) !== true) eligible++;
      let problem: string | undefined;
      if (result === undefined) {
        if (eligible > 0) {
          problem = `pick returned undefined although ${eligible} endpoint(s) were eligible`;
        }
      } else if (!(current as readonly SelectorEndpoint[]).includes(result)) {
        problem = current.some((endpoint) => endpoint.id === result.id)
          ? `pick returned an object for ${quote(result.id)} that is not the one given to the latest update() (a stale or copied endpoint)`
          : `pick returned ${quote(result.id)}, which is not in the current set ${listIds(current)}`;
      } else if (exclude?.has(result.id) === true) {
        problem = `pick returned ${quote(result.id)}, which was excluded`;
      }
      if (problem !== undefined) throw new LawViolation(`${problem}\n${trace(script, step)}`);
    });
  });
  fc.assert(property, parameters(run));
}

/** Two selectors built with identically seeded randoms make the same picks. */
export function checkDeterminism(settings: LawSettings, run: LawRun): void {
  const scripts = selectorScriptArbitrary({ maxEndpoints: settings.maxEndpoints });
  const property = fc.property(scripts, fc.integer(), (script, seed) => {
    const a = replaySelectorScript(build(settings, seed), script);
    const b = replaySelectorScript(build(settings, seed), script);
    const k = a.findIndex((id, i) => id !== b[i]);
    if (k === -1) return;
    let step = 0;
    for (let seen = 0; step < script.steps.length; step++) {
      if (script.steps[step]!.op === 'pick' && seen++ === k) break;
    }
    throw new LawViolation(
      `two selectors built with identically seeded randoms chose differently at pick #${k + 1}: ${quote(a[k])} and ${quote(b[k])}. ` +
        'Pass the factory’s `random` argument to the selector, and draw randomness from nothing else ' +
        '(no Math.random, no clock, no state shared between instances).\n' +
        trace(script, step),
    );
  });
  fc.assert(property, parameters(run));
}

/** Picks at random that an endpoint absent from a random selector's picks would miss: e^-64. */
const RECOVERY_FACTOR = 64;

/**
 * After `update([survivor])` then `update(all)`, every recovered endpoint is picked
 * within `64 × Σweight / (smallest recovered weight)` picks. The harness keeps `inflight`
 * as a pool would (each pick starts a request; past 2n requests the oldest ends) and
 * gives every endpoint the same latency, so load-aware selectors see recovered
 * endpoints as the least loaded; hashing selectors get a fresh random key per pick.
 */
export function checkRecovery(settings: LawSettings, run: LawRun): void {
  const weighted = settings.kind === 'weighted' || settings.kind === 'consistent';
  const consistent = settings.kind === 'consistent';
  const property = fc.property(
    endpointsArbitrary({ minLength: 2, maxLength: settings.maxEndpoints, weighted, maxWeight: 5 }),
    fc.nat(),
    fc.nat({ max: 24 }),
    fc.nat({ max: 24 }),
    fc.integer(),
    (generated, survivorIndex, warmPicks, outagePicks, seed) => {
      const endpoints = copyEndpoints(generated);
      for (const endpoint of endpoints) endpoint.latency = 10;
      const n = endpoints.length;
      const survivor = endpoints[survivorIndex % n]!;
      const selector = build(settings, seed);
      const keys = seededRandom(seed ^ 0x2545f491);
      const load = new FifoLoad(2 * n);
      const pick = (phase: string): TestEndpoint => {
        const picked = selector.pick(consistent ? { key: randomKey(keys) } : undefined);
        const endpoint = endpoints.find((e) => e === picked);
        if (endpoint === undefined) {
          throw new LawViolation(
            `${phase}, pick returned ${quote(picked?.id)}, not an endpoint of the set`,
          );
        }
        load.start(endpoint);
        return endpoint;
      };
      selector.update(endpoints.slice());
      for (let i = 0; i < warmPicks; i++) pick('before the outage');
      selector.update([survivor]);
      for (let i = 0; i < outagePicks; i++) {
        const picked = pick('during the outage');
        if (picked !== survivor) {
          throw new LawViolation(
            `during the outage, pick returned ${quote(picked.id)} instead of the only endpoint ${quote(survivor.id)}`,
          );
        }
      }
      selector.update(endpoints.slice());
      const waiting = new Set(endpoints.filter((e) => e !== survivor));
      let total = 0;
      let smallest = Number.POSITIVE_INFINITY;
      for (const e of endpoints) total += e.weight;
      for (const e of waiting) smallest = Math.min(smallest, e.weight);
      const bound = Math.ceil((RECOVERY_FACTOR * total) / smallest);
      for (let i = 0; i < bound && waiting.size > 0; i++) waiting.delete(pick('after recovery'));
      if (waiting.size > 0) {
        throw new LawViolation(
          `after an outage of every endpoint but ${quote(survivor.id)} (${warmPicks} picks before it, ${outagePicks} during it), ` +
            `${listIds([...waiting])} were not picked within ${bound} picks of coming back ` +
            `(set: ${endpoints.map((e) => `${quote(e.id)}×${e.weight}`).join(', ')})`,
        );
      }
    },
  );
  fc.assert(property, parameters(run));
}
