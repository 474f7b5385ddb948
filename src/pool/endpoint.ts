import { checkNumber, checkOptions, checkString, quote } from '../validate.js';
import { redactText, redactUrl } from './credentials.js';
import type { EndpointStats } from './endpoint-stats.js';
import type { EndpointInput, EndpointState, PoolEndpoint } from './types.js';

/** Keys an endpoint object may carry. */
const ENDPOINT_KEYS = ['id', 'url', 'weight', 'priority', 'metadata'] as const;

/** An endpoint input after validation: what a record is built or updated from. @internal */
export interface EndpointSpec {
  readonly id: string;
  /** The normalised URL, credentials redacted. */
  readonly url: string;
  /** The URL as given, credentials included. */
  readonly parsedUrl: URL;
  readonly weight: number;
  readonly priority: number;
  readonly metadata: Readonly<Record<string, unknown>>;
}

const EMPTY_METADATA: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * The text form of a parsed URL used as the default id and as `endpoint.url`: the WHATWG
 * serialisation (scheme and host lower-cased, default port dropped, path normalised) minus
 * the trailing `/` when the path is just `/` and nothing follows, so `http://a:8080` and
 * `http://A:8080/` are the same endpoint. Any other path, query or fragment is kept as is.
 * @internal
 */
export function normaliseUrl(parsed: URL): string {
  const href = parsed.href;
  if (parsed.pathname === '/' && parsed.search === '' && parsed.hash === '' && href.endsWith('/')) {
    return href.slice(0, -1);
  }
  return href;
}

/**
 * Validates one endpoint input (a URL string or an object) and resolves its defaults. The
 * default id and `url` are the normalised URL with its credentials redacted
 * (`http://user:***@host`, see {@link redactUrl}); `parsedUrl` keeps them.
 * @param where - names the input in error messages, e.g. `endpoints[2]`.
 * @throws TypeError for a URL that does not parse (quoting its text), a field of the wrong
 *   type or an unknown key; RangeError for a weight that is not a finite number > 0 or a
 *   priority that is not an integer ≥ 0.
 * @internal
 */
export function resolveEndpointInput(input: EndpointInput, where: string): EndpointSpec {
  let text: unknown;
  let raw: Record<string, unknown> = {};
  if (typeof input === 'string') {
    text = input;
  } else {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new TypeError(
        `${where} must be a URL string or an object with a url, got ${quote(input)}`,
      );
    }
    raw = checkOptions(where, input, ENDPOINT_KEYS);
    text = raw.url;
  }
  if (typeof text !== 'string') {
    throw new TypeError(`${where}: url must be a string, got ${quote(text)}`);
  }
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(text);
  } catch {
    throw new TypeError(`${where}: url must be an absolute URL, got ${quote(redactText(text))}`);
  }
  const url = normaliseUrl(redactUrl(parsedUrl));
  const id = raw.id === undefined ? url : checkString('id', raw.id, where);
  const context = `endpoint ${quote(id)}`;
  const weight = raw.weight === undefined ? 1 : checkWeight(raw.weight, context);
  const priority =
    raw.priority === undefined
      ? 0
      : checkNumber('priority', raw.priority, { min: 0, integer: true }, context);
  let metadata = EMPTY_METADATA;
  if (raw.metadata !== undefined) {
    if (typeof raw.metadata !== 'object' || raw.metadata === null || Array.isArray(raw.metadata)) {
      throw new TypeError(`metadata must be an object, got ${quote(raw.metadata)} (${context})`);
    }
    metadata = raw.metadata as Readonly<Record<string, unknown>>;
  }
  return { id, url, parsedUrl, weight, priority, metadata };
}

/**
 * Validates a list of endpoint inputs, rejecting duplicate ids.
 * @throws as {@link resolveEndpointInput}, naming `endpoints[i]`; RangeError for a duplicate id.
 * @internal
 */
export function resolveEndpointInputs(inputs: readonly EndpointInput[]): EndpointSpec[] {
  const specs: EndpointSpec[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < inputs.length; i++) {
    const spec = resolveEndpointInput(inputs[i]!, `endpoints[${i}]`);
    if (seen.has(spec.id)) {
      throw new RangeError(`duplicate endpoint id ${quote(spec.id)} at endpoints[${i}]`);
    }
    seen.add(spec.id);
    specs.push(spec);
  }
  return specs;
}

/**
 * Checks an endpoint weight: a finite number > 0.
 * @throws TypeError (not a number) or RangeError (0, negative, NaN, infinite), quoting it.
 * @internal
 */
export function checkWeight(weight: unknown, context: string): number {
  return checkNumber('weight', weight, { min: 0, minExclusive: true }, context);
}

/**
 * The pool's mutable record of one endpoint. It is the very object selectors and users see
 * as a {@link PoolEndpoint}: `inflight`, `latency` and `weight` change in place, so a
 * least-loaded selector reads current values without the pool calling `update()`.
 *
 * Besides the derived `state`, it keeps the independent facts the state is derived from
 * (active health, ejection deadline, draining), plus counters.
 * @internal
 */
export class EndpointRecord implements PoolEndpoint {
  // What acquire and release touch, first and together: the fewest cache lines per lease
  // when thousands of endpoints are busy (bench:pool).
  inflight = 0;
  /** Effective weight: `configuredWeight` scaled by slow start. */
  weight: number;
  requests = 0;
  successes = 0;
  consecutiveFailures = 0;
  /** Pool time (ms) at which the figures' current second ends; 0 before the first release. */
  statsUntil = 0;
  /** The record's column in the pool's figure table, −1 until its first release. */
  statsColumn = -1;
  /** Latency samples since the endpoint last (re)entered service. */
  latencySamples = 0;
  latency = 0;
  /** Pool-clock time of the last latency sample, for the EWMA's decay. */
  latencyStamp = 0;
  /** Plain (symmetric) EWMA of latency, what latency ejection judges. */
  latencyMean = 0;
  /** Sum of the latencies recorded into the figures, ms: the histogram's `_sum`. */
  latencySumMs = 0;
  /** Removed with `drain`: leaves once `inflight` is 0. */
  leaving = false;
  /** No longer in the pool (outstanding leases still release into it harmlessly). */
  removed = false;
  failures = 0;
  /** Leases acquired as a retry (`acquire({ retry: true })`). */
  retries = 0;

  readonly id: string;
  url: string;
  /** Behind an accessor: not an own enumerable property, so serialising a record skips it. */
  #parsedUrl: URL;
  configuredWeight: number;
  priority: number;
  metadata: Readonly<Record<string, unknown>>;
  state: EndpointState = 'healthy';

  // Independent facts; `state` is derived from them (see Pool).
  /** Failed active health checks. */
  unhealthy = false;
  /** Ejected until this time (pool clock); −Infinity when not ejected. */
  ejectedUntil = Number.NEGATIVE_INFINITY;
  /**
   * Takes no new requests: true when any of `leaving`, `adminDrain` or `disabled` is. Out of
   * the eligible set, of the ejection cap's base and of outlier detection.
   */
  draining = false;
  /** Drained by an operator (`pool.drain`): stays in the pool, idle, until `pool.enable`. */
  adminDrain = false;
  /** Disabled by an operator (`pool.disable`, HAProxy's MAINT) until `pool.enable`. */
  disabled = false;
  /** In the eligible set handed to the selector. */
  eligible = false;

  // Outlier detection.
  /** Ejection multiplier (Envoy's `num_ejections` back-off), decayed lazily. */
  ejectionMultiplier = 0;
  /** When the last ejection ended (or was due to end); the multiplier decays from here. */
  ejectionEndedAt = 0;
  /** Why the ejection in force began (`consecutive-failures`, `latency`, `retry-after`). */
  ejectedFor = '';
  /** Latency ejection: when the endpoint was first seen above the threshold; −Infinity when not. */
  slowSince = Number.NEGATIVE_INFINITY;
  /** `latencySamples` when `slowSince` was set: ejection needs fresh samples since. */
  slowSamples = 0;

  /** Slow start: when the current ramp began (meaningful while the pool lists it as ramping). */
  rampStart = 0;

  // Counters.
  ejections = 0;
  /** Windowed figures, from the first completed request on. */
  stats: EndpointStats | undefined = undefined;

  constructor(spec: EndpointSpec) {
    this.id = spec.id;
    this.url = spec.url;
    this.#parsedUrl = spec.parsedUrl;
    this.weight = spec.weight;
    this.configuredWeight = spec.weight;
    this.priority = spec.priority;
    this.metadata = spec.metadata;
  }

  /**
   * The URL as given, credentials included: an accessor on the prototype, so
   * `JSON.stringify(endpoint)` and `util.inspect(endpoint)` (a logged event) leave it out.
   */
  get parsedUrl(): URL {
    return this.#parsedUrl;
  }

  /** Applies a new spec for the same id (`setEndpoints`, re-`add` of a draining endpoint). */
  assign(spec: EndpointSpec): void {
    this.url = spec.url;
    this.#parsedUrl = spec.parsedUrl;
    this.configuredWeight = spec.weight;
    this.priority = spec.priority;
    this.metadata = spec.metadata;
  }

  /**
   * The state these facts give at time `now`: leaving (draining) > disabled > drained by an
   * operator (draining) > unhealthy > ejected > healthy.
   */
  derive(now: number): EndpointState {
    if (this.leaving) return 'draining';
    if (this.disabled) return 'disabled';
    if (this.draining) return 'draining';
    if (this.unhealthy) return 'unhealthy';
    if (this.ejectedUntil > now) return 'ejected';
    return 'healthy';
  }

  /**
   * Adds a latency sample. Weights are `exp(−Δt/τ)`, Δt being the time since the previous
   * sample, so the averages forget at the same rate whatever the request rate.
   * - `latency`, peak-sensitive (Finagle's `PeakEwma`, time constant `tau`): a sample above
   *   the current value replaces it at once; one below pulls it down as
   *   `latency × w + sample × (1 − w)`. Selectors read it: a slowing endpoint loses traffic
   *   at once.
   * - `latencyMean`, symmetric (time constant `meanTau`, skipped when 0): what latency
   *   ejection judges, so that one slow response cannot eject an endpoint.
   *
   * `now` is when the sample was taken. A caller's sample may be reported late (the time
   * to headers of a long stream); one older than the last sample moves the averages as a
   * sample taken at the same moment (Δt = 0) and does not move the stamp back.
   */
  observeLatency(sample: number, now: number, tau: number, meanTau: number): void {
    const elapsed = Math.max(now - this.latencyStamp, 0);
    if (elapsed > 0) this.latencyStamp = now;
    if (this.latencySamples++ === 0) {
      this.latency = sample;
      this.latencyMean = sample;
      return;
    }
    const current = this.latency;
    if (sample > current) {
      this.latency = sample;
    } else {
      const w = decay(elapsed / tau);
      this.latency = current * w + sample * (1 - w);
    }
    if (meanTau > 0) {
      const w = decay(elapsed / meanTau);
      this.latencyMean = this.latencyMean * w + sample * (1 - w);
    }
  }
}

/**
 * `exp(−x)` for x ≥ 0. Under load, samples come microseconds apart and x (Δt/τ) is tiny:
 * there the series `1 − x + x²/2` is exact to 2·10⁻¹⁰ and several times cheaper than
 * `Math.exp` on the release path.
 */
function decay(x: number): number {
  return x < 1e-3 ? 1 - x + 0.5 * x * x : Math.exp(-x);
}
