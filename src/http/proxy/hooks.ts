/**
 * The proxy's hooks: the upstream request's head rewritten per try, the client response's
 * head rewritten once, and an opt-in transform of a buffered response body. Each runs only
 * when given: without hooks, a request builds none of these objects.
 * @internal
 */

import {
  type IncomingMessage,
  type OutgoingHttpHeaders,
  validateHeaderName,
  validateHeaderValue,
} from 'node:http';
import type { Dispatcher } from 'undici';
import type { PoolEndpoint } from '../../pool/types.js';
import { checkFunction, checkNumber, checkOptions, quote } from '../../validate.js';
import { headersFromFlat } from '../shared/flat-headers.js';
import type { TryLoop } from '../shared/try-loop.js';

/**
 * The head of one try's upstream request, for {@link ProxyOptions.rewriteRequest}: change
 * `path` and `headers` in place.
 */
export interface ProxyRequestHead {
  /** The request method (read only). */
  readonly method: string;
  /**
   * Path and query sent to the endpoint, below its URL's path prefix (an endpoint
   * `http://10.0.0.2/api` and a path `/users` make `/api/users`). Must start with `/`.
   */
  path: string;
  /**
   * The headers sent upstream, names in lower case, after the proxy's own header work
   * (hop-by-hop removed, `X-Forwarded-*` set). Add, change or delete entries; leave the
   * framing headers (`content-length`, `transfer-encoding`) alone.
   */
  headers: Record<string, string | string[] | undefined>;
  /** The endpoint this try goes to. */
  readonly endpoint: PoolEndpoint;
  /** The try's number, from 1. */
  readonly attempt: number;
}

/**
 * The head of the response sent to the client, for {@link ProxyOptions.rewriteResponse}:
 * change `status` and `headers` in place.
 */
export interface ProxyResponseHead {
  /** The status sent to the client (200–599). */
  status: number;
  /**
   * The headers sent to the client, names in lower case, hop-by-hop headers removed and
   * the affinity cookie added.
   */
  headers: OutgoingHttpHeaders;
  /** The endpoint that answered. */
  readonly endpoint: PoolEndpoint;
}

/**
 * Rewrites the upstream request of each try (http-proxy-middleware's `pathRewrite` and
 * `on.proxyReq`, reply-from's `rewriteRequestHeaders`, NGINX's `proxy_set_header`). Runs
 * once per try, on a fresh copy of the request's head, so a rewrite that depends on the
 * endpoint is right after a failover and a rewrite is never applied twice. If it throws,
 * the proxy answers 500 (through `onError`), and no endpoint is blamed.
 */
export type RewriteRequest = (head: ProxyRequestHead, req: IncomingMessage) => void;

/**
 * Rewrites the head of the response sent to the client (http-proxy-middleware's
 * `on.proxyRes`, reply-from's `rewriteHeaders`). Runs once per request, on the response
 * that is delivered (never on one discarded for a retry). If it throws, the proxy answers
 * 500 (through `onError`), and the endpoint is not blamed.
 */
export type RewriteResponse = (head: ProxyResponseHead, req: IncomingMessage) => void;

/**
 * Transforms a response body, given whole (http-proxy-middleware's `responseInterceptor`).
 * The body is as the endpoint sent it: still compressed when `head.headers['content-encoding']`
 * says so (ask for `identity` in `rewriteRequest`, or skip such responses in `when`).
 * Runs after `rewriteResponse`; return the new body (the proxy sets `Content-Length`).
 */
export type TransformBody = (
  body: Buffer,
  head: ProxyResponseHead,
  req: IncomingMessage,
) => Buffer | string | Promise<Buffer | string>;

/** Opt-in transform of response bodies, buffered whole; see {@link TransformBody}. */
export interface ProxyResponseBodyOptions {
  /** The transform. */
  readonly transform: TransformBody;
  /**
   * Which responses are buffered and transformed (after `rewriteResponse`). Responses
   * without a body (`HEAD`, 204, 304) never are.
   * @default every response
   */
  readonly when?: (head: ProxyResponseHead, req: IncomingMessage) => boolean;
  /**
   * Largest body buffered, bytes. A longer one (by `Content-Length` or as it arrives) is
   * answered 502 — never passed on untransformed, since a transform may be what keeps
   * something from the client.
   * @default 1_048_576 (1 MiB)
   */
  readonly maxBytes?: number;
}

/** Default `responseBody.maxBytes`: 1 MiB. */
export const DEFAULT_RESPONSE_BODY_MAX_BYTES = 1_048_576;

/** `responseBody` after validation. @internal */
export interface ResolvedResponseBody {
  readonly transform: TransformBody;
  readonly when: ((head: ProxyResponseHead, req: IncomingMessage) => boolean) | undefined;
  readonly maxBytes: number;
}

/**
 * Validates `responseBody`.
 * @throws TypeError or RangeError naming the option and quoting the value.
 * @internal
 */
export function resolveResponseBody(value: unknown): ResolvedResponseBody | undefined {
  if (value === undefined) return undefined;
  const o = checkOptions('responseBody', value, ['transform', 'when', 'maxBytes']);
  return {
    transform: checkFunction<TransformBody>('responseBody.transform', o.transform),
    when:
      o.when === undefined
        ? undefined
        : checkFunction<ResolvedResponseBody['when']>('responseBody.when', o.when),
    maxBytes: checkNumber(
      'responseBody.maxBytes',
      o.maxBytes === undefined ? DEFAULT_RESPONSE_BODY_MAX_BYTES : o.maxBytes,
      { min: 0, integer: true },
    ),
  };
}

/**
 * The head one try's `rewriteRequest` sees: the request's headers (a flat array) as a
 * fresh object, names in lower case.
 */
export function requestHeadFor(
  method: string,
  path: string,
  flat: readonly string[],
  endpoint: PoolEndpoint,
  attempt: number,
): ProxyRequestHead {
  return { method, path, headers: headersFromFlat(flat), endpoint, attempt };
}

/**
 * Runs `rewriteRequest` for the try about to start on `tries`' lease, on a fresh copy of
 * the request's head: sets
 * `opts.headers` to the rewritten headers and returns the rewritten path.
 * @param base - the headers as the header pass built them (a flat array), never changed
 * @throws what the hook throws, or a TypeError when it left a path that is not origin-form.
 */
export function rewriteTry(
  hook: RewriteRequest,
  req: IncomingMessage,
  opts: Dispatcher.DispatchOptions,
  base: readonly string[],
  path: string,
  tries: Pick<TryLoop, 'lease' | 'attempts'>,
): string {
  const head = requestHeadFor(opts.method, path, base, tries.lease!.endpoint, tries.attempts + 1);
  hook(head, req);
  const rewritten = head.path;
  if (typeof rewritten !== 'string' || rewritten.charCodeAt(0) !== 47 /* / */) {
    throw new TypeError(
      `rewriteRequest must leave head.path starting with "/", got ${quote(rewritten)}`,
    );
  }
  const headers = head.headers;
  if (typeof headers !== 'object' || headers === null) {
    throw new TypeError(`rewriteRequest must leave head.headers an object, got ${quote(headers)}`);
  }
  // What the hook wrote is checked here, so that undici never refuses it: a refusal by
  // undici reads as the client's fault (400), and this is the application's (500).
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    validateHeaderName(name);
    if (typeof value === 'string') validateHeaderValue(name, value);
    else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
      for (const v of value) validateHeaderValue(name, v);
    } else {
      throw new TypeError(
        `rewriteRequest must leave header values strings or arrays of strings, got ${quote(value)} for ${quote(name)}`,
      );
    }
  }
  opts.headers = headers as Record<string, string | string[]>;
  return rewritten;
}
