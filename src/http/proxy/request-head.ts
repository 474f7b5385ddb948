/**
 * What the proxy reads from a client request's head before forwarding it: who the client
 * is, the facts the header pass records, and where the request's affinity points. Ordinary
 * requests and upgrades read it the same way, into the exchange object itself, so reading
 * costs no object of its own. (Functions over an interface rather than a base class: a
 * derived exchange measured some 30 ns slower to construct per request.)
 * @internal
 */

import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { buildRequestHeaders, type ClientInfo, type RequestHeadFacts } from './headers.js';
import type { ProxyEngine } from './proxy-engine.js';

/** The fields {@link readRequestHead} fills in (an exchange declares them). */
export interface RequestHead extends RequestHeadFacts, ClientInfo {
  /** The peer address of the client connection. */
  ip: string | undefined;
  /** `https` when the client connection is TLS, else `http`. */
  proto: string;
  /** Whether the client may set `X-Forwarded-*` (`trustProxy`). */
  trusted: boolean;
  /** The hash key of `by: 'ip'` or `key` affinity, if any. */
  affinityKey: string | undefined;
  /** The endpoint token the client's affinity cookie carries, if any. */
  cookieToken: string | undefined;
  /** The client reached the proxy over TLS, directly or per a trusted `X-Forwarded-Proto`. */
  tls: boolean;
}

/**
 * Reads the client and the head of `req` into `head`; returns the headers to send
 * upstream (see {@link buildRequestHeaders}).
 * @throws what the application's affinity `key` function throws.
 */
export function readRequestHead(
  head: RequestHead,
  engine: ProxyEngine,
  req: IncomingMessage,
): string[] {
  const socket = req.socket as TLSSocket | undefined;
  const ip = socket?.remoteAddress;
  head.ip = ip;
  const trust = engine.trust;
  head.trusted = trust.trusts(ip, 0);
  if (socket?.encrypted === true) head.proto = 'https';
  const headers = buildRequestHeaders(req.rawHeaders, engine.rules, head, head);
  head.tls = head.proto === 'https' || head.forwardedProto === 'https';
  const affinity = engine.affinity;
  if (affinity !== undefined) {
    if (affinity.mode === 'cookie') head.cookieToken = affinity.readCookie(head.cookie);
    else if (affinity.mode === 'ip') {
      // Behind trusted proxies: the rightmost address that is not one (`true`: the leftmost).
      head.affinityKey = head.trusted ? trust.client(ip, head.forwardedFor) : ip;
    } else head.affinityKey = affinity.keyFn!(req) ?? undefined;
  }
  return headers;
}

/**
 * The `Set-Cookie` value for a response from the endpoint `id`: with cookie affinity,
 * when the client's cookie does not name that endpoint already; else `undefined`.
 */
export function affinityCookie(
  head: RequestHead,
  engine: ProxyEngine,
  id: string,
): string | undefined {
  const affinity = engine.affinity;
  if (affinity?.mode !== 'cookie' || affinity.tokenFor(id) === head.cookieToken) {
    return undefined;
  }
  return affinity.setCookieFor(id, head.tls);
}

/**
 * The id of the endpoint the client's affinity cookie names, among the pool's endpoints,
 * for the first lease (`acquire({ prefer })`); `undefined` for none.
 */
export function preferredEndpoint(head: RequestHead, engine: ProxyEngine): string | undefined {
  const token = head.cookieToken;
  return token === undefined ? undefined : engine.affinity?.idForToken(token);
}
