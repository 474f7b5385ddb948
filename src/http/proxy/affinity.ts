/**
 * Session affinity for the proxy: by cookie, by client address, or by a key the
 * application computes.
 * @internal
 */

import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  checkBoolean,
  checkFunction,
  checkNumber,
  checkOptions,
  checkString,
  quote,
} from '../../validate.js';

/** Options of cookie affinity. */
export interface CookieAffinityOptions {
  /** The cookie's name. */
  readonly name: string;
  /**
   * The cookie's `Path`.
   * @default '/'
   */
  readonly path?: string;
  /**
   * The cookie's `Max-Age` in seconds; none makes a session cookie.
   * @default undefined
   */
  readonly maxAgeSeconds?: number;
  /**
   * The cookie's `Domain`; none scopes it to the host that set it.
   * @default undefined
   */
  readonly domain?: string;
  /**
   * Mark the cookie `Secure`: `true`, `false`, or `'auto'` for when the client connection
   * is TLS (or a trusted `X-Forwarded-Proto: https`).
   * @default 'auto'
   */
  readonly secure?: boolean | 'auto';
  /**
   * The cookie's `SameSite`.
   * @default 'Lax'
   */
  readonly sameSite?: 'Strict' | 'Lax' | 'None';
  /**
   * Mark the cookie `HttpOnly` (scripts cannot read it).
   * @default true
   */
  readonly httpOnly?: boolean;
}

/**
 * How requests of one client stick to one endpoint:
 * - `{ cookie: 'sy', secret }`: the proxy sets a cookie naming the endpoint by an HMAC of
 *   its id under `secret` (never its address, and not guessable from it) and sends the
 *   client's later requests there while it is eligible. Proxies that must agree on the
 *   cookie (a fleet, or one proxy across restarts) need the same `secret`; without one,
 *   each proxy draws a random secret, so stickiness lasts as long as the proxy;
 * - `{ by: 'ip' }`: the client address is the hash key, so a hashing selector (`RingHash`,
 *   `Maglev`, `Rendezvous`) maps each client to one endpoint;
 * - `{ key: (req) => string | undefined }`: the application's own key (user id, tenant…),
 *   also for a hashing selector.
 */
export type AffinityOptions =
  | {
      /** Sticky by cookie: the cookie's name, or its full settings. */
      readonly cookie: string | CookieAffinityOptions;
      /**
       * The key of the HMAC that names an endpoint in the cookie: at least 16 characters,
       * shared by every proxy that must read the others' cookies.
       * @default a random secret per proxy
       */
      readonly secret?: string;
    }
  | {
      /** Sticky by client IP (the leftmost `X-Forwarded-For` when the client is trusted). */
      readonly by: 'ip';
    }
  | {
      /** Sticky by a key of your own; `undefined` means no key for this request. */
      readonly key: (req: IncomingMessage) => string | undefined;
    };

/** Cookie names are tokens (RFC 6265 §4.1.1). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const SAME_SITE = ['Strict', 'Lax', 'None'];

/**
 * The resolved affinity: computes a request's hash key, or reads and writes the cookie.
 * @internal
 */
export class Affinity {
  /** Which kind of affinity. */
  readonly mode: 'cookie' | 'ip' | 'key';
  /** The application's key function, in `key` mode. */
  readonly keyFn: ((req: IncomingMessage) => string | undefined) | undefined;
  readonly #secret: string;
  readonly #needle: string;
  readonly #attributes: string;
  readonly #secure: boolean | 'auto';
  readonly #cookies = new Map<string, string>();
  readonly #tokens = new Map<string, string>();
  #byToken = new Map<string, string>();

  /** @throws TypeError or RangeError for bad options, naming the option and quoting the value. */
  constructor(options: AffinityOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(
        `affinity must be { cookie }, { by: 'ip' } or { key }, got ${quote(options)}`,
      );
    }
    const keys = Object.keys(options).filter((k) => k !== 'secret' || !('cookie' in options));
    if (keys.length !== 1 || !['cookie', 'by', 'key'].includes(keys[0]!)) {
      throw new TypeError(
        `affinity must have exactly one of "cookie", "by" or "key", got ${quote(options)}`,
      );
    }
    this.keyFn = undefined;
    this.#secret = '';
    this.#needle = '';
    this.#attributes = '';
    this.#secure = false;
    if ('by' in options) {
      if (options.by !== 'ip') {
        throw new TypeError(`affinity.by must be "ip", got ${quote(options.by)}`);
      }
      this.mode = 'ip';
    } else if ('key' in options) {
      this.mode = 'key';
      this.keyFn = checkFunction('affinity.key', options.key);
    } else {
      this.mode = 'cookie';
      const raw = options.cookie;
      const o =
        typeof raw === 'string'
          ? { name: raw }
          : checkOptions('affinity.cookie', raw, [
              'name',
              'path',
              'maxAgeSeconds',
              'domain',
              'secure',
              'sameSite',
              'httpOnly',
            ]);
      const name = checkString('affinity.cookie name', o.name);
      if (!TOKEN.test(name)) {
        throw new TypeError(`affinity.cookie name must be a cookie token, got ${quote(name)}`);
      }
      const path = o.path === undefined ? '/' : checkString('affinity.cookie.path', o.path);
      if (/[;\s]/.test(path)) {
        throw new TypeError(`affinity.cookie.path must not hold ';' or spaces, got ${quote(path)}`);
      }
      let attributes = `; Path=${path}`;
      if (o.domain !== undefined) {
        const domain = checkString('affinity.cookie.domain', o.domain);
        if (/[;\s]/.test(domain)) {
          throw new TypeError(
            `affinity.cookie.domain must not hold ';' or spaces, got ${quote(domain)}`,
          );
        }
        attributes += `; Domain=${domain}`;
      }
      if (o.maxAgeSeconds !== undefined) {
        const maxAge = checkNumber('affinity.cookie.maxAgeSeconds', o.maxAgeSeconds, {
          min: 0,
          integer: true,
        });
        attributes += `; Max-Age=${maxAge}`;
      }
      if (o.httpOnly === undefined ? true : checkBoolean('affinity.cookie.httpOnly', o.httpOnly)) {
        attributes += '; HttpOnly';
      }
      const sameSite = o.sameSite === undefined ? 'Lax' : o.sameSite;
      if (typeof sameSite !== 'string' || !SAME_SITE.includes(sameSite)) {
        throw new TypeError(
          `affinity.cookie.sameSite must be "Strict", "Lax" or "None", got ${quote(sameSite)}`,
        );
      }
      attributes += `; SameSite=${sameSite}`;
      const secure = o.secure === undefined ? 'auto' : o.secure;
      if (secure !== 'auto' && typeof secure !== 'boolean') {
        throw new TypeError(
          `affinity.cookie.secure must be a boolean or "auto", got ${quote(secure)}`,
        );
      }
      this.#secure = secure;
      const secret = (options as { secret?: unknown }).secret;
      if (secret === undefined) this.#secret = randomBytes(32).toString('base64');
      else {
        this.#secret = checkString('affinity.secret', secret);
        if (this.#secret.length < 16) {
          throw new RangeError(
            `affinity.secret must be at least 16 characters, got ${this.#secret.length}`,
          );
        }
      }
      this.#needle = `${name}=`;
      this.#attributes = attributes;
    }
  }

  /** The token that stands for an endpoint in the cookie: an HMAC of its id, 16 hex digits. */
  tokenFor(id: string): string {
    let token = this.#tokens.get(id);
    if (token === undefined) {
      token = endpointToken(id, this.#secret);
      this.#tokens.set(id, token);
    }
    return token;
  }

  /** The cookie's value in a `Cookie` header, or undefined. */
  readCookie(header: string | undefined): string | undefined {
    if (header === undefined) return undefined;
    const needle = this.#needle;
    let from = 0;
    for (;;) {
      const at = header.indexOf(needle, from);
      if (at === -1) return undefined;
      // Only a whole name: at the start or after `;` and optional spaces.
      let before = at - 1;
      while (before >= 0 && header.charCodeAt(before) === 32) before--;
      if (before < 0 || header.charCodeAt(before) === 59) {
        const start = at + needle.length;
        const end = header.indexOf(';', start);
        return (end === -1 ? header.slice(start) : header.slice(start, end)).trim();
      }
      from = at + needle.length;
    }
  }

  /** The `Set-Cookie` value sending a client to the endpoint `id`. */
  setCookieFor(id: string, tls: boolean): string {
    const secure = this.#secure === 'auto' ? tls : this.#secure;
    const cacheKey = secure ? `s${id}` : `p${id}`;
    let cookie = this.#cookies.get(cacheKey);
    if (cookie === undefined) {
      cookie = `${this.#needle}${this.tokenFor(id)}${this.#attributes}${secure ? '; Secure' : ''}`;
      // Bounded by the number of endpoints ever seen; forget them all if that grows large.
      if (this.#cookies.size > 4096) this.#cookies.clear();
      this.#cookies.set(cacheKey, cookie);
    }
    return cookie;
  }

  /** The id of the endpoint a cookie token stands for, among the indexed endpoints. */
  idForToken(token: string): string | undefined {
    return this.#byToken.get(token);
  }

  /** Indexes the pool's endpoints by token; called when membership changes. */
  index(endpoints: readonly { readonly id: string }[]): void {
    const byToken = new Map<string, string>();
    const tokens = new Map<string, string>();
    for (const { id } of endpoints) {
      const token = this.tokenFor(id);
      tokens.set(id, token);
      // On a (vanishingly rare) hash collision the first endpoint keeps the token.
      if (!byToken.has(token)) byToken.set(token, id);
    }
    this.#byToken = byToken;
    // Drop the cookies and tokens of endpoints that left.
    for (const id of this.#tokens.keys()) if (!tokens.has(id)) this.#forget(id);
  }

  #forget(id: string): void {
    this.#cookies.delete(`s${id}`);
    this.#cookies.delete(`p${id}`);
    this.#tokens.delete(id);
  }
}

/**
 * The cookie token of an endpoint id: the first 64 bits of HMAC-SHA256(`secret`, id), in
 * hex. Proxies with the same secret agree on it; without the secret it can be neither
 * computed from an address nor turned back into one.
 */
export function endpointToken(id: string, secret: string): string {
  return createHmac('sha256', secret).update(id).digest('hex').slice(0, 16);
}
