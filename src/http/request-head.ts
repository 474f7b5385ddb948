/**
 * What the proxy reads from a client request's head before forwarding it: who the client
 * is, the facts the header pass records, and where the request's affinity points. Ordinary
 * requests and upgrades read it the same way; each exchange is a `RequestHead`, so reading
 * costs no object of its own.
 * @internal
 */

import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { buildRequestHeaders, type ClientInfo, type RequestHeadFacts } from './headers.js';
import type { ProxyEngine } from './proxy-engine.js';

/** @internal */
export class RequestHead implements RequestHeadFacts, ClientInfo {
  contentLength = -1;
  chunked = false;
  idempotencyKey = false;
  host: string | undefined = undefined;
  upgrade: string | undefined = undefined;
  cookie: string | undefined = undefined;
  originalClient: string | undefined = undefined;
  forwardedProto: string | undefined = undefined;
  ip: string | undefined = undefined;
  proto = 'http';
  trusted = false;
  /** The hash key of `by: 'ip'` or `key` affinity, if any. */
  protected affinityKey: string | undefined = undefined;
  /** The endpoint token the client's affinity cookie carries, if any. */
  protected cookieToken: string | undefined = undefined;
  /** The client reached the proxy over TLS, directly or per a trusted `X-Forwarded-Proto`. */
  protected tls = false;

  /**
   * Reads the client and the head of `req` into this object; returns the headers to send
   * upstream (see {@link buildRequestHeaders}).
   * @throws what the application's affinity `key` function throws.
   */
  protected readHead(engine: ProxyEngine, req: IncomingMessage): string[] {
    const socket = req.socket as TLSSocket | undefined;
    const ip = socket?.remoteAddress;
    this.ip = ip;
    this.trusted = engine.trusts(ip);
    if (socket?.encrypted === true) this.proto = 'https';
    const headers = buildRequestHeaders(req.rawHeaders, engine.rules, this, this);
    this.tls = this.proto === 'https' || this.forwardedProto === 'https';
    const affinity = engine.affinity;
    if (affinity !== undefined) {
      if (affinity.mode === 'cookie') this.cookieToken = affinity.readCookie(this.cookie);
      else if (affinity.mode === 'ip') this.affinityKey = this.originalClient ?? ip;
      else this.affinityKey = affinity.keyFn!(req) ?? undefined;
    }
    return headers;
  }

  /**
   * The `Set-Cookie` value for a response from the endpoint `id`: with cookie affinity,
   * when the client's cookie does not name that endpoint already; else `undefined`.
   */
  protected affinityCookie(engine: ProxyEngine, id: string): string | undefined {
    const affinity = engine.affinity;
    if (affinity?.mode !== 'cookie' || affinity.tokenFor(id) === this.cookieToken) {
      return undefined;
    }
    return affinity.setCookieFor(id, this.tls);
  }
}
