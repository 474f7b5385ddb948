import { quote } from '../validate.js';
import type { PoolLike } from './types.js';

const METHODS = [
  'acquire',
  'tryAcquire',
  'onMembershipChange',
  'onStateChange',
  'setHealth',
] as const;

/**
 * Checks that `pool` fulfils the {@link PoolLike} contract: the one check every consumer
 * of a pool (`HealthMonitor`, the HTTP adapters) runs when it is given one.
 *
 * @param pool - the value to check
 * @param owner - who asks, for the message (`'createProxyHandler'`)
 * @throws TypeError naming `owner` and what is missing, e.g.
 *   `createProxyHandler needs a Pool as its first argument, got {} (no acquire())`.
 * @example
 * ```ts
 * import { assertPool } from 'switchyard';
 * export function createMyAdapter(pool: PoolLike) {
 *   assertPool(pool, 'createMyAdapter');
 * }
 * ```
 */
export function assertPool(pool: unknown, owner: string): asserts pool is PoolLike {
  if (typeof pool !== 'object' || pool === null) {
    throw new TypeError(`${owner} needs a Pool as its first argument, got ${quote(pool)}`);
  }
  const p = pool as Record<string, unknown>;
  for (const method of METHODS) {
    if (typeof p[method] !== 'function') {
      throw new TypeError(
        `${owner} needs a Pool as its first argument, got ${describe(pool)} (no ${method}())`,
      );
    }
  }
  if (!Array.isArray(p.endpoints) || typeof p.closed !== 'boolean') {
    throw new TypeError(
      `${owner} needs a Pool as its first argument, got ${describe(pool)} (no endpoints array or closed flag)`,
    );
  }
}

function describe(value: object): string {
  const name = value.constructor?.name;
  return name !== undefined && name !== 'Object' ? `a ${name}` : quote(value);
}
