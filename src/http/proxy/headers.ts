/**
 * Header rewriting for proxying: hop-by-hop headers removed both ways (RFC 9110 §7.6.1,
 * plus every header `Connection` names), `X-Forwarded-*` and `Forwarded` (RFC 7239) set.
 * The request side works in one pass over Node's flat `rawHeaders`, lower-casing only the
 * names whose length could match a header it acts on.
 * @internal
 */

import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { eqi } from '../shared/flat-headers.js';

/**
 * Headers that describe one connection, not the message, and are never forwarded:
 * RFC 9110 §7.6.1 (`Connection`, `Proxy-Connection`, `Keep-Alive`, `TE`,
 * `Transfer-Encoding`, `Upgrade`) and RFC 7230's list (`Trailer`, `Proxy-Authenticate`,
 * `Proxy-Authorization`).
 */
export const HOP_BY_HOP_HEADERS: readonly string[] = Object.freeze([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
]);

const HOP_BY_HOP: Readonly<Record<string, true>> = Object.freeze(
  Object.assign(Object.create(null), Object.fromEntries(HOP_BY_HOP_HEADERS.map((h) => [h, true]))),
);

/** A `TE` value that lists `trailers`. */
const TE_TRAILERS = /(?:^|,)[ \t]*trailers[ \t]*(?:[;,]|$)/i;

/** Static rules for request headers, resolved once from the proxy options. */
export interface RequestHeaderRules {
  /** Replace `Host` with the endpoint's (undici then sends the origin's host). */
  readonly changeOrigin: boolean;
  /** Set `X-Forwarded-For`, `-Proto` and `-Host`. */
  readonly xForwarded: boolean;
  /** Set an RFC 7239 `Forwarded` header. */
  readonly forwarded: boolean;
}

/** What the header pass learned about a request (written into the caller's object). */
export interface RequestHeadFacts {
  /** `Content-Length` (the first one), or -1. */
  contentLength: number;
  /** A `Transfer-Encoding` header was present (a body of unknown length follows). */
  chunked: boolean;
  /** An `Idempotency-Key` header was present. */
  idempotencyKey: boolean;
  /** The `Host` header, if any. */
  host: string | undefined;
  /** The `Upgrade` header, if any. */
  upgrade: string | undefined;
  /** The `Cookie` header(s), joined with `; `. */
  cookie: string | undefined;
  /** Leftmost `X-Forwarded-For` address when trusted, else undefined. */
  originalClient: string | undefined;
  /** The incoming `X-Forwarded-For` list when trusted, else undefined. */
  forwardedFor: string | undefined;
  /** The incoming `X-Forwarded-Proto` when trusted, else undefined. */
  forwardedProto: string | undefined;
}

/** Per-request inputs to {@link buildRequestHeaders}. */
export interface ClientInfo {
  /** The peer address of the client connection. */
  readonly ip: string | undefined;
  /** `https` when the client connection is TLS, else `http`. */
  readonly proto: string;
  /** Whether incoming `X-Forwarded-*` / `Forwarded` are kept (and appended to). */
  readonly trusted: boolean;
}

function join(prior: string | undefined, value: string): string {
  return prior === undefined ? value : `${prior}, ${value}`;
}

/**
 * Builds the headers to send upstream, as a flat `[name, value, …]` array (undici's fast
 * form), from Node's `req.rawHeaders`, and records facts about the request in `facts`.
 * Dropped: hop-by-hop headers (but a `TE` listing `trailers` is sent on as `te: trailers`),
 * those `Connection` names, `Expect` (Node answers `100-continue` itself), duplicate `Content-Length`; `Host` with `changeOrigin`; and,
 * unless `client.trusted`, every forwarding header ({@link isForwardingHeader}).
 */
export function buildRequestHeaders(
  raw: readonly string[],
  rules: RequestHeaderRules,
  client: ClientInfo,
  facts: RequestHeadFacts,
): string[] {
  const out: string[] = [];
  const trusted = client.trusted;
  let connection: string | undefined;
  let teTrailers = false;
  let xff: string | undefined;
  let xfProto: string | undefined;
  let xfHost: string | undefined;
  let fwd: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 58) {
      // An HTTP/2 pseudo-header (Node's compatibility API): `:authority` stands for Host.
      if (name === ':authority' && facts.host === undefined) {
        facts.host = value;
        if (!rules.changeOrigin) out.push('host', value);
      }
      continue;
    }
    switch (name.length) {
      case 2: // te
        if (eqi(name, 'te')) {
          // Hop-by-hop, but `trailers` says the client takes trailer fields, which the proxy
          // forwards: that much goes on (the only TE that HTTP/2 allows), once.
          if (!teTrailers && TE_TRAILERS.test(value)) {
            teTrailers = true;
            out.push('te', 'trailers');
          }
          continue;
        }
        break;
      case 4:
        if (eqi(name, 'host')) {
          // One Host only (undici refuses two); the first wins.
          if (facts.host !== undefined) continue;
          facts.host = value;
          if (rules.changeOrigin) continue;
        }
        break;
      case 6:
        if (eqi(name, 'expect')) continue;
        if (eqi(name, 'cookie')) {
          facts.cookie = facts.cookie === undefined ? value : `${facts.cookie}; ${value}`;
        }
        break;
      case 7:
        if (eqi(name, 'upgrade')) {
          facts.upgrade = value;
          continue;
        }
        if (eqi(name, 'trailer')) continue;
        break;
      case 9:
        if (eqi(name, 'forwarded')) {
          if (trusted) fwd = join(fwd, value);
          continue;
        }
        break;
      case 10:
        if (eqi(name, 'connection')) {
          connection = join(connection, value);
          continue;
        }
        if (eqi(name, 'keep-alive')) continue;
        break;
      case 14:
        if (eqi(name, 'content-length')) {
          // undici refuses duplicates; Node already rejected conflicting ones.
          if (facts.contentLength !== -1) continue;
          facts.contentLength = Number(value);
        }
        break;
      case 15:
        if (eqi(name, 'x-forwarded-for')) {
          if (trusted) xff = join(xff, value);
          continue;
        }
        if (eqi(name, 'idempotency-key')) facts.idempotencyKey = true;
        break;
      case 16:
        if (eqi(name, 'proxy-connection')) continue;
        if (eqi(name, 'x-forwarded-host')) {
          if (trusted) xfHost ??= value;
          continue;
        }
        break;
      case 17:
        if (eqi(name, 'transfer-encoding')) {
          facts.chunked = true;
          continue;
        }
        if (eqi(name, 'x-forwarded-proto')) {
          if (trusted) xfProto ??= value;
          continue;
        }
        break;
      case 18:
        if (eqi(name, 'proxy-authenticate')) continue;
        break;
      case 19:
        if (eqi(name, 'proxy-authorization')) continue;
        break;
    }
    // Forwarding headers a client could forge: only a trusted proxy may pass them on.
    if (!trusted && isForwardingHeader(name)) continue;
    out.push(name, value);
  }
  if (connection !== undefined) removeConnectionNamed(out, connection);
  if (trusted) {
    if (xff !== undefined) {
      facts.forwardedFor = xff;
      facts.originalClient = leftmost(xff);
    }
    facts.forwardedProto = xfProto;
  }
  const ip = client.ip;
  if (rules.xForwarded) {
    if (ip !== undefined) out.push('x-forwarded-for', join(xff, ip));
    else if (xff !== undefined) out.push('x-forwarded-for', xff);
    out.push('x-forwarded-proto', xfProto ?? client.proto);
    const host = xfHost ?? facts.host;
    if (host !== undefined) out.push('x-forwarded-host', host);
  } else {
    // Not setting them ourselves: pass trusted ones through unchanged.
    if (xff !== undefined) out.push('x-forwarded-for', xff);
    if (xfProto !== undefined) out.push('x-forwarded-proto', xfProto);
    if (xfHost !== undefined) out.push('x-forwarded-host', xfHost);
  }
  if (rules.forwarded) {
    out.push('forwarded', join(fwd, forwardedElement(ip, facts.host, client.proto)));
  } else if (fwd !== undefined) {
    out.push('forwarded', fwd);
  }
  return out;
}

/**
 * True for a header that says who the client is or how it came (any case, `-` or `_`):
 * `X-Forwarded-*`, `Forwarded`, `X-Real-IP`, `X-Client-IP`, `True-Client-IP`. Most
 * names are ruled out by their first character.
 */
export function isForwardingHeader(name: string): boolean {
  const first = name.charCodeAt(0) | 0x20;
  if (first === 120 /* x */) {
    return (
      (name.length > 11 && startsWithFolded(name, 'x-forwarded')) ||
      eqFolded(name, 'x-real-ip') ||
      eqFolded(name, 'x-client-ip')
    );
  }
  if (first === 116 /* t */) return eqFolded(name, 'true-client-ip');
  if (first === 102 /* f */) return eqFolded(name, 'forwarded');
  return false;
}

/** `eqi`, with `_` read as `-` (some servers map both to one CGI variable). */
function eqFolded(name: string, lower: string): boolean {
  return name.length === lower.length && startsWithFolded(name, lower);
}

function startsWithFolded(name: string, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    const c = name.charCodeAt(i);
    const want = lower.charCodeAt(i);
    if (c === 95 /* _ */ ? want !== 45 : (c | 0x20) !== want) return false;
  }
  return true;
}

/** Removes from a flat header array every header that a `Connection` value names. */
function removeConnectionNamed(out: string[], connection: string): void {
  const named = connectionTokens(connection);
  if (named === undefined) return;
  let w = 0;
  for (let r = 0; r < out.length; r += 2) {
    const name = out[r]!;
    if (named.has(name.toLowerCase())) continue;
    out[w++] = name;
    out[w++] = out[r + 1]!;
  }
  out.length = w;
}

/** The header names a `Connection` value lists, lower case, or undefined when it lists none. */
export function connectionTokens(connection: string | readonly string[]): Set<string> | undefined {
  // The usual values name no header: answer without splitting.
  if (
    typeof connection === 'string' &&
    (eqi(connection, 'keep-alive') || eqi(connection, 'close'))
  ) {
    return undefined;
  }
  let named: Set<string> | undefined;
  const values = typeof connection === 'string' ? [connection] : connection;
  for (const value of values) {
    for (const part of value.split(',')) {
      const token = part.trim().toLowerCase();
      // `close` is an option, not a header; hop-by-hop names are removed anyway.
      if (token === '' || token === 'close' || HOP_BY_HOP[token] === true) continue;
      named ??= new Set();
      named.add(token);
    }
  }
  return named;
}

function leftmost(xff: string): string {
  const comma = xff.indexOf(',');
  return (comma === -1 ? xff : xff.slice(0, comma)).trim();
}

/** One RFC 7239 element: `for=…;host=…;proto=…`, quoting where the grammar needs it. */
export function forwardedElement(
  ip: string | undefined,
  host: string | undefined,
  proto: string,
): string {
  let element = ip === undefined ? 'for=unknown' : ip.includes(':') ? `for="[${ip}]"` : `for=${ip}`;
  if (host !== undefined) element += `;host=${quoteIfNeeded(host)}`;
  return `${element};proto=${proto}`;
}

function quoteIfNeeded(value: string): string {
  // RFC 7239 values are tokens or quoted strings; a host with a port has a ':'.
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value)
    ? value
    : `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * Builds the response headers for Node's `res.writeHead`, as a flat array, from undici's
 * parsed headers: hop-by-hop headers and those `Connection` names removed. `setCookie`,
 * when given, is added to the `Set-Cookie` headers.
 */
export function buildResponseHeaders(
  headers: IncomingHttpHeaders,
  setCookie: string | undefined,
): (string | string[])[] {
  const out: (string | string[])[] = [];
  const connection = headers.connection;
  const named = connection === undefined ? undefined : connectionTokens(connection);
  for (const key in headers) {
    if (HOP_BY_HOP[key] === true || named?.has(key)) continue;
    const value = headers[key];
    if (value === undefined) continue;
    out.push(key, value);
  }
  if (setCookie !== undefined) out.push('set-cookie', setCookie);
  return out;
}

/** True when `name` (lower case) is hop-by-hop. */
export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP[name] === true;
}

/**
 * The response headers as an object (names lower case), hop-by-hop headers and those
 * `Connection` names removed, `setCookie` added to `Set-Cookie`: the head the response
 * hooks see, and the headers of a forwarded `103 Early Hints`.
 */
export function responseHeadersObject(
  headers: IncomingHttpHeaders,
  setCookie: string | undefined,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const connection = headers.connection;
  const named = connection === undefined ? undefined : connectionTokens(connection);
  for (const key in headers) {
    if (HOP_BY_HOP[key] === true || named?.has(key)) continue;
    const value = headers[key];
    if (value !== undefined) out[key] = value;
  }
  if (setCookie !== undefined) {
    const prior = out['set-cookie'];
    out['set-cookie'] =
      prior === undefined
        ? setCookie
        : Array.isArray(prior)
          ? [...prior, setCookie]
          : [String(prior), setCookie];
  }
  return out;
}
