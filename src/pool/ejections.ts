import type { EndpointRecord } from './endpoint.js';
import {
  DEFAULT_MAX_EJECTION_PERCENT,
  decayedMultiplier,
  mayEject,
  medianLatency,
  nextEjection,
  type OutlierSettings,
} from './outlier.js';

const NEVER = Number.POSITIVE_INFINITY;
const NOT_SINCE = Number.NEGATIVE_INFINITY;

/**
 * Moves an endpoint to the state its facts give at `t`, with a reason: the pool's state
 * machine, which emits the one event of the change.
 * @internal
 */
export type Transition = (record: EndpointRecord, reason: string, t: number) => void;

/**
 * The pool's ejection bookkeeping: who is ejected and until when — for consecutive failures,
 * for latency (opt-in) or for a `Retry-After` — within the `maxEjectionPercent` cap, and
 * expiry. The facts live on the records (`ejectedUntil`, the back-off multiplier); every
 * state change goes through the pool's {@link Transition}.
 *
 * `members` arguments are the pool's endpoints that are not draining: the base of the cap.
 * @internal
 */
export class Ejections {
  readonly #outlier: OutlierSettings | undefined;
  readonly #maxRetryAfterMs: number;
  readonly #transition: Transition;
  /** Endpoints with an ejection in force (possibly just expired, until `expire` runs). */
  readonly #ejected = new Set<EndpointRecord>();
  /** Failures in a row that eject an endpoint; +∞ when outlier detection is off. */
  readonly consecutiveFailures: number;
  /** At or before the earliest end of an ejection in force (`expire` makes it exact). */
  nextExpiryAt = NEVER;
  /** When latency ejection is next evaluated; +∞ when it is off. */
  nextLatencyAt = NEVER;
  /** Ejections since the pool was created. */
  total = 0;

  /** @param t - the pool's clock now: latency ejection is first evaluated an interval later. */
  constructor(
    outlier: OutlierSettings | undefined,
    maxRetryAfterMs: number,
    transition: Transition,
    t: number,
  ) {
    this.#outlier = outlier;
    this.#maxRetryAfterMs = maxRetryAfterMs;
    this.#transition = transition;
    this.consecutiveFailures = outlier?.consecutiveFailures ?? NEVER;
    if (outlier !== undefined && outlier.latencyFactor > 0) {
      this.nextLatencyAt = t + latencyIntervalMs(outlier);
    }
  }

  /**
   * Time constant of the plain latency EWMA that latency ejection judges (a tenth of its
   * window); 0 when latency ejection is off, so the pool skips that average.
   */
  get latencyMeanMs(): number {
    const outlier = this.#outlier;
    return outlier !== undefined && outlier.latencyFactor > 0 ? outlier.latencyWindowMs / 10 : 0;
  }

  /** `record`'s ejection back-off multiplier at `t`, after decay (0 without outlier detection). */
  multiplier(record: EndpointRecord, t: number): number {
    return this.#outlier === undefined ? 0 : decayedMultiplier(record, t, this.#outlier);
  }

  /** `record` reached `consecutiveFailures` failures in a row at `t`: ejects it if it may. */
  failed(record: EndpointRecord, t: number, members: number): void {
    const outlier = this.#outlier!;
    if (record.removed || record.draining) return;
    if (record.ejectedUntil > t) return; // a late failure of a lease taken before the ejection
    if (!mayEject(this.#ejected.size, members, outlier.maxEjectionPercent)) {
      return; // over the cap: keep counting, the next failure asks again
    }
    this.#eject(record, t + nextEjection(record, t, outlier), 'consecutive-failures', t);
  }

  /**
   * `record` asked not to be used for `retryAfterMs`: ejects it for that long (capped by
   * `maxRetryAfterMs`) when the ejection cap allows, with or without outlier detection.
   */
  retryAfter(record: EndpointRecord, retryAfterMs: number, t: number, members: number): void {
    if (record.removed || record.draining || this.#maxRetryAfterMs === 0) return;
    const until = t + Math.min(retryAfterMs, this.#maxRetryAfterMs);
    if (record.ejectedUntil > t) {
      // Already out: stretch the ejection if asked for longer; the state does not change.
      if (until > record.ejectedUntil) {
        record.ejectedUntil = until;
        record.ejectedFor = 'retry-after';
      }
      return;
    }
    const outlier = this.#outlier;
    if (!mayEject(this.#ejected.size, members, this.#maxPercent)) return;
    // The multiplier does not grow, and decays only in service: keep the decay earned so far.
    if (outlier !== undefined) record.ejectionMultiplier = decayedMultiplier(record, t, outlier);
    this.#eject(record, until, 'retry-after', t);
  }

  /**
   * The ejection cap, in percent: outlier detection's `maxEjectionPercent`, or its default
   * when outlier detection is off, since `Retry-After` ejections still happen then and one
   * endpoint's answer must not empty the pool.
   */
  get #maxPercent(): number {
    return this.#outlier?.maxEjectionPercent ?? DEFAULT_MAX_EJECTION_PERCENT;
  }

  #eject(record: EndpointRecord, until: number, reason: string, t: number): void {
    record.ejectedUntil = until;
    record.ejectedFor = reason;
    record.consecutiveFailures = 0;
    record.ejections++;
    this.total++;
    this.#ejected.add(record);
    if (until < this.nextExpiryAt) this.nextExpiryAt = until;
    this.#transition(record, reason, t);
  }

  /**
   * Keeps the ejected share within `maxEjectionPercent` when the pool shrinks: the
   * ejections closest to their end finish early (reason `ejection-cap`). Ejections are only
   * refused when they would exceed it, so this runs after removals only.
   */
  cap(t: number, members: number): void {
    const percent = this.#maxPercent;
    const ejected = this.#ejected;
    while (ejected.size > 0 && ejected.size * 100 > percent * members) {
      let first: EndpointRecord | undefined;
      for (const r of ejected)
        if (first === undefined || r.ejectedUntil < first.ejectedUntil) first = r;
      ejected.delete(first!);
      first!.ejectionEndedAt = t;
      first!.ejectedUntil = NOT_SINCE;
      first!.consecutiveFailures = 0;
      this.#transition(first!, 'ejection-cap', t);
    }
  }

  /**
   * Ends `record`'s ejection at `t` because an active health check passed (Envoy's
   * `successful_active_health_check_uneject_host`), without an event of its own: the
   * caller's state update is the change. A `Retry-After` ejection is the endpoint's own
   * request, which a health check does not answer: it is kept.
   */
  lift(record: EndpointRecord, t: number): void {
    if (!(record.ejectedUntil > t) || record.ejectedFor === 'retry-after') return;
    this.#ejected.delete(record);
    record.ejectionEndedAt = t;
    record.ejectedUntil = NOT_SINCE;
    record.consecutiveFailures = 0;
  }

  /** Ends the ejections due by `t` (reason `ejection-expired`). */
  expire(t: number): void {
    let next = NEVER;
    for (const record of this.#ejected) {
      const until = record.ejectedUntil;
      if (until <= t) {
        this.#ejected.delete(record);
        record.ejectionEndedAt = until;
        record.ejectedUntil = NOT_SINCE;
        // As Envoy: a returning endpoint starts from a clean count, not one failure short.
        record.consecutiveFailures = 0;
        this.#transition(record, 'ejection-expired', t);
      } else if (until < next) {
        next = until;
      }
    }
    this.nextExpiryAt = next;
  }

  /**
   * A draining endpoint no longer counts as ejected (nor towards the cap): its ejection
   * ends at `t` without an event of its own, the caller's move to `draining` being the change.
   */
  cut(record: EndpointRecord, t: number): void {
    if (this.#ejected.delete(record)) record.ejectionEndedAt = Math.min(record.ejectedUntil, t);
    record.ejectedUntil = NOT_SINCE;
  }

  /** `record` left the pool. */
  forget(record: EndpointRecord): void {
    this.#ejected.delete(record);
  }

  /**
   * Latency ejection (opt-in), evaluated every tenth of `latencyWindowMs`. An endpoint is
   * ejected when, at every evaluation for a whole window, its plain latency EWMA (time
   * constant: a tenth of the window) was above `latencyFactor ×` the median of its healthy
   * peers, and it served at least `latencyMinSamples` requests during that window. The
   * short time constant lets one slow response fade well within a window; the fresh
   * samples make sure a stale average is never the only evidence.
   */
  checkLatency(records: Iterable<EndpointRecord>, t: number, members: number): void {
    const outlier = this.#outlier!;
    this.nextLatencyAt = t + latencyIntervalMs(outlier);
    const candidates: EndpointRecord[] = [];
    for (const r of records) if (r.state === 'healthy') candidates.push(r);
    const median = medianLatency(candidates, outlier.latencyMinSamples);
    const threshold = median < 0 ? NEVER : outlier.latencyFactor * median;
    for (const r of candidates) {
      if (r.latencySamples < outlier.latencyMinSamples || !(r.latencyMean > threshold)) {
        r.slowSince = NOT_SINCE;
      } else if (r.slowSince === NOT_SINCE) {
        r.slowSince = t;
        r.slowSamples = r.latencySamples;
      } else if (
        t - r.slowSince >= outlier.latencyWindowMs &&
        r.latencySamples - r.slowSamples >= outlier.latencyMinSamples &&
        mayEject(this.#ejected.size, members, outlier.maxEjectionPercent)
      ) {
        this.#eject(r, t + nextEjection(r, t, outlier), 'latency', t);
      }
    }
  }
}

/** How often latency ejection is evaluated: a tenth of the window, at most once a second. */
function latencyIntervalMs(outlier: OutlierSettings): number {
  return Math.min(outlier.latencyWindowMs / 10, 1_000);
}
