import type { EndpointRecord } from './endpoint.js';

/** The eligible set and how it was chosen. @internal */
export interface Eligibility {
  /** The endpoints the selector chooses from (a new array each time). */
  readonly endpoints: EndpointRecord[];
  /** The priority tier serving, or −1 when none. */
  readonly tier: number;
  /** True when the serving tier is in panic (every endpoint of it eligible). */
  readonly panic: boolean;
}

/**
 * Chooses the eligible set from the pool's endpoints (draining ones never count):
 *
 * 1. The serving tier is the best (lowest) priority with at least one healthy endpoint; its
 *    healthy endpoints are eligible. Lower tiers serve only when every better tier has no
 *    healthy endpoint — the failover of NGINX's and HAProxy's `backup` servers.
 * 2. Panic, as Envoy: when the serving tier's healthy share (healthy / not draining) is
 *    below `panicThreshold`, every endpoint of that tier is eligible, whatever its state, so
 *    a mass failure spreads load over the whole tier rather than crushing the few survivors.
 * 3. When no tier has a healthy endpoint, the best tier with any endpoint is in panic
 *    (unless `panicThreshold` is 0, which disables panic: then nothing is eligible).
 *
 * Envoy also spills part of a degraded tier's traffic to the next tier; switchyard keeps
 * tiers all-or-nothing, which is simpler to reason about and what a `backup` flag means.
 * @internal
 */
export function computeEligibility(
  records: readonly EndpointRecord[],
  panicThreshold: number,
): Eligibility {
  let bestHealthy = Number.POSITIVE_INFINITY;
  let bestAny = Number.POSITIVE_INFINITY;
  for (const r of records) {
    if (r.draining) continue;
    if (r.priority < bestAny) bestAny = r.priority;
    if (r.state === 'healthy' && r.priority < bestHealthy) bestHealthy = r.priority;
  }
  let tier = bestHealthy;
  let panic = false;
  if (tier === Number.POSITIVE_INFINITY) {
    if (bestAny === Number.POSITIVE_INFINITY || panicThreshold === 0) {
      return { endpoints: [], tier: -1, panic: false };
    }
    tier = bestAny;
    panic = true;
  } else if (panicThreshold > 0) {
    let members = 0;
    let healthy = 0;
    for (const r of records) {
      if (r.draining || r.priority !== tier) continue;
      members++;
      if (r.state === 'healthy') healthy++;
    }
    panic = healthy < panicThreshold * members;
  }
  const endpoints: EndpointRecord[] = [];
  for (const r of records) {
    if (r.draining || r.priority !== tier) continue;
    if (panic || r.state === 'healthy') endpoints.push(r);
  }
  return { endpoints, tier, panic };
}

/**
 * Why nothing could be acquired, for `NoEndpointError`'s message: an empty pool, every
 * eligible endpoint excluded, or how many endpoints are in which state.
 * @internal
 */
export function explainNoEndpoint(
  records: ReadonlyMap<string, EndpointRecord>,
  eligible: number,
  excluded: boolean,
): string {
  const total = records.size;
  if (total === 0) return 'no endpoint is eligible: the pool is empty';
  if (eligible > 0 && excluded) {
    return `no endpoint is eligible: all ${eligible} eligible endpoints were excluded`;
  }
  const counts: Record<string, number> = {};
  for (const r of records.values()) counts[r.state] = (counts[r.state] ?? 0) + 1;
  const parts = Object.entries(counts).map(([state, n]) => `${n} ${state}`);
  return `no endpoint is eligible: ${total} endpoint${total === 1 ? '' : 's'} (${parts.join(', ')})`;
}
