import { quote } from '../validate.js';
import type { SelectorEndpoint } from './selector.js';

/**
 * Checks an endpoint list handed to `Selector.update()`: an array of objects with a
 * non-empty, unique string `id` and a finite `weight` > 0. Runs on update, never on pick.
 * @throws TypeError or RangeError naming the field, quoting the value and the endpoint.
 * @internal
 */
export function validateEndpoints(owner: string, endpoints: readonly SelectorEndpoint[]): void {
  if (!Array.isArray(endpoints)) {
    throw new TypeError(`${owner}.update() expects an array of endpoints, got ${quote(endpoints)}`);
  }
  const seen = new Set<string>();
  for (let i = 0; i < endpoints.length; i++) {
    const endpoint = endpoints[i] as SelectorEndpoint | undefined;
    if (typeof endpoint !== 'object' || endpoint === null) {
      throw new TypeError(
        `${owner}.update(): endpoints[${i}] must be an object, got ${quote(endpoint)}`,
      );
    }
    const { id, weight } = endpoint;
    if (typeof id !== 'string' || id.length === 0) {
      throw new TypeError(
        `${owner}.update(): endpoints[${i}].id must be a non-empty string, got ${quote(id)}`,
      );
    }
    if (seen.has(id)) {
      throw new RangeError(
        `${owner}.update(): duplicate endpoint id ${quote(id)} at endpoints[${i}]`,
      );
    }
    seen.add(id);
    if (typeof weight !== 'number') {
      throw new TypeError(
        `weight must be a finite number > 0, got ${quote(weight)} (endpoint ${quote(id)})`,
      );
    }
    if (!(weight > 0) || !Number.isFinite(weight)) {
      throw new RangeError(
        `weight must be a finite number > 0, got ${quote(weight)} (endpoint ${quote(id)})`,
      );
    }
  }
}

/** Validates the `random` option shared by selectors; returns the source to use. @internal */
export function resolveRandom(owner: string, random: unknown): () => number {
  if (random === undefined) return Math.random;
  if (typeof random !== 'function') {
    throw new TypeError(
      `${owner}: random must be a function returning [0, 1), got ${quote(random)}`,
    );
  }
  return random as () => number;
}
