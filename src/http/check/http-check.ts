import type { Agent, Dispatcher } from 'undici';
import { AbortedError, HealthCheckError } from '../../errors.js';
import type { HealthCheck } from '../../health/index.js';
import type { PoolEndpoint } from '../../pool/types.js';
import { checkBoolean, checkNumber, checkOptions, checkString, quote } from '../../validate.js';
import { undici } from '../shared/undici.js';
import { resolveTls, type UpstreamTlsOptions } from '../shared/upstream-options.js';

/**
 * Which statuses pass: one code (`200`), an inclusive range as a `[min, max]` pair
 * (`[200, 299]`), or a predicate (`(s) => s === 200 || s === 204`). An array is always a
 * range, never a list: use a predicate for a set of codes.
 */
export type ExpectStatus =
  | number
  | readonly [min: number, max: number]
  | ((status: number) => boolean);

/** Default `expectStatus`: any 2xx or 3xx, as HAProxy's `option httpchk`. */
export const DEFAULT_EXPECT_STATUS: readonly [number, number] = [200, 399];
/** Default `maxBodyBytes`: 16 KiB, HAProxy's check buffer (`tune.bufsize`). */
export const DEFAULT_MAX_BODY_BYTES = 16_384;

/** Options of {@link httpCheck}. */
export interface HttpCheckOptions {
  /** Request method. @default 'GET' */
  readonly method?: string;
  /** Path and query to request on the endpoint's origin (the endpoint URL's own path is ignored). @default '/' */
  readonly path?: string;
  /** Statuses that pass; see {@link ExpectStatus}. Redirects are not followed. @default [200, 399] */
  readonly expectStatus?: ExpectStatus;
  /**
   * The body must contain this string, or match this RegExp, within its first `maxBodyBytes`
   * bytes (decoded as UTF-8). @default no body check: the body is read up to `maxBodyBytes`
   * and discarded
   */
  readonly expectBody?: string | RegExp;
  /** Most body bytes read; a longer body is cut off (its connection closed). @default 16384 */
  readonly maxBodyBytes?: number;
  /** Request headers. Hop-by-hop headers are refused. @default {} */
  readonly headers?: Readonly<Record<string, string>>;
  /** `Host` header to send, for a backend that routes by name. @default the endpoint's host */
  readonly host?: string;
  /**
   * Keep connections open between checks (Envoy `reuse_connection`). With `false` every check
   * opens a fresh connection (as HAProxy does), which also proves the backend still accepts.
   * @default true
   */
  readonly reuseConnections?: boolean;
  /**
   * The undici dispatcher to send checks through (for TLS options, a proxy, interceptors). You
   * own it: `close()` leaves it open. @default a private `Agent`, closed by `close()`
   */
  readonly dispatcher?: Dispatcher;
  /**
   * TLS settings for `https://` endpoints, as the proxy's `tls` (pass the proxy's own so
   * checks trust the same CA and present the same client certificate). Not with
   * `dispatcher`: set them on it.
   * @default Node's defaults
   * @example
   * ```ts
   * httpCheck({ path: '/healthz', tls: { ca: readFileSync('ca.pem') } });
   * ```
   */
  readonly tls?: UpstreamTlsOptions;
}

/** A health check made by {@link httpCheck}: call it, and `close()` it when done. */
export interface HttpCheck extends HealthCheck {
  /** Closes the private connection agent (not a `dispatcher` you passed). Idempotent. */
  close(): Promise<void>;
  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const KNOWN = [
  'method',
  'path',
  'expectStatus',
  'expectBody',
  'maxBodyBytes',
  'headers',
  'host',
  'reuseConnections',
  'dispatcher',
  'tls',
] as const;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// undici refuses these (RFC 9110 §7.6.1 hop-by-hop, or framing it owns).
const REFUSED_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'expect',
  'content-length',
]);

function checkStatus(value: unknown): (status: number) => boolean {
  if (typeof value === 'function') return value as (status: number) => boolean;
  const code = (name: string, v: unknown) =>
    checkNumber(name, v, { min: 100, max: 599, integer: true });
  if (typeof value === 'number') {
    const want = code('expectStatus', value);
    return (status) => status === want;
  }
  if (Array.isArray(value) && value.length === 2) {
    const min = code('expectStatus[0] (min)', value[0]);
    const max = code('expectStatus[1] (max)', value[1]);
    if (min > max) {
      throw new RangeError(
        `expectStatus must be an inclusive [min, max] range with min <= max, got [${min}, ${max}]`,
      );
    }
    return (status) => status >= min && status <= max;
  }
  throw new TypeError(
    `expectStatus must be a status code, an inclusive [min, max] pair or a function, got ${quote(value)}; for a set of codes pass a function`,
  );
}

function describeStatus(value: ExpectStatus): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'function') return 'a status accepted by expectStatus';
  return `${value[0]}-${value[1]}`;
}

function checkHeaders(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`headers must be an object of strings, got ${quote(value)}`);
  }
  const headers: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (!TOKEN.test(name)) throw new TypeError(`headers has an invalid name ${quote(name)}`);
    const lower = name.toLowerCase();
    if (REFUSED_HEADERS.has(lower)) {
      throw new TypeError(
        `headers must not set ${quote(name)}: it is hop-by-hop or framing (use reuseConnections for keep-alive)`,
      );
    }
    if (typeof v !== 'string' || /[\r\n\0]/.test(v)) {
      throw new TypeError(
        `headers[${quote(name)}] must be a string without CR, LF or NUL, got ${quote(v)}`,
      );
    }
    headers[lower] = v;
  }
  return headers;
}

/**
 * An HTTP health check for `HealthMonitor` sent with undici: `method path` on the
 * endpoint's origin, passing when the status matches `expectStatus` and the body matches
 * `expectBody`. The body is always read up to `maxBodyBytes` or cut off, never left pending.
 * Connections are kept alive between checks of an endpoint; idle ones do not keep the
 * process alive, and `close()` closes them.
 *
 * @example
 * ```ts
 * import { HealthMonitor } from 'switchyard';
 * import { httpCheck } from 'switchyard/http';
 *
 * const check = httpCheck({ path: '/healthz', expectStatus: [200, 299], expectBody: /"ok"/ });
 * const monitor = new HealthMonitor(pool, { check });
 * monitor.start();
 * // …on shutdown:
 * await monitor.stop();
 * await check.close();
 * ```
 * @throws TypeError or RangeError for a bad option, naming it and quoting the value
 */
export function httpCheck(options?: HttpCheckOptions): HttpCheck {
  const o = checkOptions('httpCheck', options, KNOWN);
  const method = o.method === undefined ? 'GET' : checkString('method', o.method);
  if (!TOKEN.test(method))
    throw new TypeError(`method must be an HTTP token, got ${quote(method)}`);
  const path = o.path === undefined ? '/' : checkString('path', o.path);
  if (!/^\/[^\s\0]*$/.test(path)) {
    throw new TypeError(`path must start with "/" and contain no whitespace, got ${quote(path)}`);
  }
  const expectStatusInput = (o.expectStatus ?? DEFAULT_EXPECT_STATUS) as ExpectStatus;
  const statusOk = checkStatus(expectStatusInput);
  const statusText = describeStatus(expectStatusInput);
  let bodyOk: ((text: string) => boolean) | undefined;
  const expectBody = o.expectBody;
  if (typeof expectBody === 'string' && expectBody.length > 0) {
    bodyOk = (text) => text.includes(expectBody);
  } else if (expectBody instanceof RegExp) {
    // Without g/y, test() keeps no lastIndex between checks.
    const re = new RegExp(expectBody.source, expectBody.flags.replace(/[gy]/g, ''));
    bodyOk = (text) => re.test(text);
  } else if (expectBody !== undefined) {
    throw new TypeError(
      `expectBody must be a non-empty string or a RegExp, got ${quote(expectBody)}`,
    );
  }
  const maxBodyBytes =
    o.maxBodyBytes === undefined
      ? DEFAULT_MAX_BODY_BYTES
      : checkNumber('maxBodyBytes', o.maxBodyBytes, { min: 1, integer: true });
  const headers = o.headers === undefined ? {} : checkHeaders(o.headers);
  if (o.host !== undefined) {
    const host = checkString('host', o.host);
    if (/[\s\0/]/.test(host)) throw new TypeError(`host must be a host[:port], got ${quote(host)}`);
    headers.host = host;
  }
  const reset =
    o.reuseConnections === undefined
      ? false
      : !checkBoolean('reuseConnections', o.reuseConnections);
  const given = o.dispatcher as Dispatcher | undefined;
  if (given !== undefined && typeof (given as { request?: unknown })?.request !== 'function') {
    throw new TypeError(`dispatcher must be an undici Dispatcher, got ${quote(given)}`);
  }
  const connect = resolveTls(o.tls);
  if (connect !== undefined && given !== undefined) {
    throw new TypeError('tls cannot be combined with dispatcher: set it on the dispatcher');
  }

  let agent: Agent | undefined;
  let closed = false;

  const check = async (endpoint: PoolEndpoint, signal: AbortSignal): Promise<void> => {
    if (closed) throw new AbortedError('httpCheck was closed');
    const url = endpoint.parsedUrl;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(
        `httpCheck needs an http: or https: endpoint, got ${quote(endpoint.url)}`,
      );
    }
    const dispatcher =
      given ?? (agent ??= new (undici().Agent)(connect === undefined ? undefined : { connect }));
    const response = await dispatcher.request({
      origin: url.origin,
      path,
      method: method as Dispatcher.HttpMethod,
      headers,
      signal,
      reset,
    });
    const { statusCode, body } = response;
    let text = '';
    let matched = false;
    try {
      if (bodyOk === undefined) {
        await body.dump({ limit: maxBodyBytes, signal });
      } else {
        const decoder = new TextDecoder();
        let bytes = 0;
        for await (const chunk of body as AsyncIterable<Uint8Array>) {
          const take = Math.min(chunk.byteLength, maxBodyBytes - bytes);
          bytes += take;
          text += decoder.decode(take < chunk.byteLength ? chunk.subarray(0, take) : chunk, {
            stream: true,
          });
          if ((matched = bodyOk(text)) || bytes >= maxBodyBytes) break;
        }
        text += decoder.decode();
        matched ||= bodyOk(text);
      }
    } finally {
      // Leaving the loop early returns the iterator, which destroys the body; this is for
      // the paths that threw before reading.
      if (!body.destroyed) body.destroy();
    }
    const where = `${method} ${url.origin}${path}`;
    if (!statusOk(statusCode)) {
      throw new HealthCheckError(
        `health check ${where} answered ${statusCode}, expected ${statusText}`,
        { status: statusCode },
      );
    }
    if (bodyOk !== undefined && !matched) {
      throw new HealthCheckError(
        `health check ${where} body did not match ${expectBody instanceof RegExp ? String(expectBody) : quote(expectBody)} in its first ${maxBodyBytes} bytes`,
        { status: statusCode },
      );
    }
  };

  const close = async (): Promise<void> => {
    closed = true;
    const owned = agent;
    agent = undefined;
    await owned?.close();
  };
  return Object.assign(check, { close, [Symbol.asyncDispose]: close });
}
