/**
 * How the HTTP adapters connect to endpoints, beyond timeouts: TLS for `https://`
 * endpoints, HTTP/2, or a dispatcher of the application's own per endpoint. Shared by the
 * proxy, the balanced dispatcher and (the TLS part) the HTTP health check.
 * @internal
 */

import type { Dispatcher } from 'undici';
import type { PoolEndpoint } from '../../pool/types.js';
import { checkBoolean, checkFunction, checkOptions, checkString, quote } from '../../validate.js';

/** A PEM text or buffer, or several. */
export type PemInput = string | Buffer | readonly (string | Buffer)[];

/**
 * TLS settings for `https://` endpoints (Node's `tls.connect` options of the same names;
 * NGINX's `proxy_ssl_trusted_certificate`, `proxy_ssl_certificate`, `proxy_ssl_name`,
 * `proxy_ssl_verify`). Plain `http://` endpoints ignore them.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const tls = {
 *   ca: readFileSync('ca.pem'),          // trust the fleet's own CA
 *   cert: readFileSync('client.pem'),    // mTLS: the proxy's client certificate
 *   key: readFileSync('client-key.pem'),
 *   servername: 'api.internal',          // SNI and the name the certificate must carry
 * };
 * createProxyHandler(pool, { tls });
 * ```
 */
export interface UpstreamTlsOptions {
  /**
   * Certificate authorities to trust, PEM.
   * @default Node's bundled root certificates
   */
  readonly ca?: PemInput;
  /**
   * Client certificate chain, PEM, for endpoints that require mutual TLS.
   * @default none
   */
  readonly cert?: PemInput;
  /**
   * Private key of `cert`, PEM.
   * @default none
   */
  readonly key?: PemInput;
  /**
   * Passphrase of an encrypted `key`.
   * @default none
   */
  readonly passphrase?: string;
  /**
   * Server name sent for SNI and checked against the endpoint's certificate, for endpoints
   * given by address (`https://10.0.0.2`) whose certificate names a host.
   * @default the endpoint URL's host name (no SNI for an IP address)
   */
  readonly servername?: string;
  /**
   * Refuse an endpoint whose certificate does not verify. `false` is for tests only: it
   * accepts any certificate, a man in the middle's included.
   * @default true
   */
  readonly rejectUnauthorized?: boolean;
}

/**
 * Makes the undici `Dispatcher` that carries every request to `endpoint` (an `Agent` with a
 * proxy, a Unix socket, interceptors, …). Called once per endpoint, on its first request
 * (and again if its URL changes); the adapter owns what it returns and closes it when the
 * endpoint leaves the pool or the adapter closes.
 */
export type DispatcherFactory = (endpoint: PoolEndpoint) => Dispatcher;

/** How the adapters connect to endpoints; see each option. */
export interface UpstreamConnectionOptions {
  /**
   * TLS settings for `https://` endpoints; see {@link UpstreamTlsOptions}.
   * @default Node's defaults: verified against the bundled root certificates
   * @example
   * ```ts
   * createProxyHandler(pool, { tls: { ca: readFileSync('fleet-ca.pem'), servername: 'api.internal' } });
   * ```
   */
  readonly tls?: UpstreamTlsOptions;
  /**
   * Speak HTTP/2 to `https://` endpoints that offer it in the TLS handshake (ALPN `h2`),
   * HTTP/1.1 to the others (undici's `allowH2`). Cleartext `http://` endpoints always get
   * HTTP/1.1. WebSocket upgrades need HTTP/1.1: set `false` for endpoints that tunnel them.
   * @default undici's (`true` in undici 8)
   * @example
   * ```ts
   * createProxyHandler(pool, { allowH2: false }); // HTTP/1.1 only, for WebSocket endpoints
   * ```
   */
  readonly allowH2?: boolean;
  /**
   * A dispatcher of your own per endpoint, instead of switchyard's undici `Pool`; see
   * {@link DispatcherFactory}. `connections`, `keepAliveTimeoutMs`, `timeouts.connectMs`,
   * `timeouts.headersMs` and `timeouts.idleMs` are then the dispatcher's to set, and `tls`
   * and `allowH2` may not be given with it.
   * @default none: an undici `Pool` per endpoint
   * @example
   * ```ts
   * import { Agent } from 'undici';
   * createProxyHandler(pool, {
   *   dispatcherFactory: (endpoint) =>
   *     new Agent({ connect: { socketPath: `/run/${endpoint.id}.sock` } }),
   * });
   * ```
   */
  readonly dispatcherFactory?: DispatcherFactory;
}

/** The connection options after validation. @internal */
export interface ResolvedConnection {
  /** undici `connect` options, or undefined for the defaults. */
  readonly connect: Readonly<Record<string, unknown>> | undefined;
  /** undici's `allowH2`, or undefined for undici's default. */
  readonly allowH2: boolean | undefined;
  /** The application's dispatcher per endpoint, if any. */
  readonly dispatcherFactory: DispatcherFactory | undefined;
}

/** The option names of {@link UpstreamConnectionOptions}. @internal */
export const CONNECTION_OPTIONS: readonly string[] = ['tls', 'allowH2', 'dispatcherFactory'];

const TLS_KEYS = ['ca', 'cert', 'key', 'passphrase', 'servername', 'rejectUnauthorized'];

function checkPem(name: string, value: unknown): PemInput {
  const one = (v: unknown) => typeof v === 'string' || Buffer.isBuffer(v);
  if (one(value) || (Array.isArray(value) && value.length > 0 && value.every(one))) {
    return value as PemInput;
  }
  throw new TypeError(
    `${name} must be a PEM string or Buffer, or a non-empty array of them, got ${quote(value)}`,
  );
}

/**
 * Validates `tls` into undici/`tls.connect` options.
 * @throws TypeError naming the option and quoting the value.
 * @internal
 */
export function resolveTls(
  value: unknown,
  prefix = 'tls',
): Readonly<Record<string, unknown>> | undefined {
  if (value === undefined) return undefined;
  const t = checkOptions(prefix, value, TLS_KEYS);
  const out: Record<string, unknown> = {};
  for (const name of ['ca', 'cert', 'key'] as const) {
    if (t[name] !== undefined) out[name] = checkPem(`${prefix}.${name}`, t[name]);
  }
  if ((out.cert === undefined) !== (out.key === undefined)) {
    throw new TypeError(`${prefix}.cert and ${prefix}.key go together: give both or neither`);
  }
  if (t.passphrase !== undefined) {
    out.passphrase = checkString(`${prefix}.passphrase`, t.passphrase);
  }
  if (t.servername !== undefined) {
    const servername = checkString(`${prefix}.servername`, t.servername);
    if (servername === '' || /[\s/:]/.test(servername)) {
      throw new TypeError(`${prefix}.servername must be a host name, got ${quote(servername)}`);
    }
    out.servername = servername;
  }
  if (t.rejectUnauthorized !== undefined) {
    out.rejectUnauthorized = checkBoolean(`${prefix}.rejectUnauthorized`, t.rejectUnauthorized);
  }
  return Object.freeze(out);
}

/**
 * Validates the connection options of `o` (an adapter's checked options object).
 * @throws TypeError naming the option and quoting the value, or when `dispatcherFactory`
 *   comes with `tls` or `allowH2`.
 * @internal
 */
export function resolveConnection(o: Readonly<Record<string, unknown>>): ResolvedConnection {
  const connect = resolveTls(o.tls);
  const allowH2 = o.allowH2 === undefined ? undefined : checkBoolean('allowH2', o.allowH2);
  const dispatcherFactory =
    o.dispatcherFactory === undefined
      ? undefined
      : checkFunction<DispatcherFactory>('dispatcherFactory', o.dispatcherFactory);
  if (dispatcherFactory !== undefined && (connect !== undefined || allowH2 !== undefined)) {
    throw new TypeError(
      'dispatcherFactory cannot be combined with tls or allowH2: set them on the dispatchers it makes',
    );
  }
  return { connect, allowH2, dispatcherFactory };
}
