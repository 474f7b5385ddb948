import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkBoolean, checkFunction, checkNumber, checkOptions, quote } from '../../validate.js';
import { type RetryOptions, RetryPolicy } from '../shared/retry-policy.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_HEADERS_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
  DEFAULT_TUNNEL_IDLE_TIMEOUT_MS,
  MAX_TIMER_MS,
} from '../shared/timeouts.js';
import { Affinity, type AffinityOptions } from './affinity.js';
import { ProxyTrust, type TrustProxy } from './trust-proxy.js';

/** Timeouts of the proxy. `0` disables one. */
export interface ProxyTimeouts {
  /**
   * Time to open a connection to an endpoint, per try. A connect timeout is retried on
   * another endpoint for any method (the request never left).
   * @default 2_000
   */
  readonly connectMs?: number;
  /**
   * Time from sending a request to receiving the response headers, per try (undici's
   * `headersTimeout`).
   * @default 30_000
   */
  readonly headersMs?: number;
  /**
   * Longest silence between two chunks of the response body (undici's `bodyTimeout`,
   * NGINX's `proxy_read_timeout`). Mid-body, the client connection is then reset.
   * @default 60_000
   */
  readonly idleMs?: number;
  /**
   * Overall deadline from the request's arrival to the response headers, across all
   * tries and retries; the proxy answers 504 when it passes. Streamed responses (SSE)
   * are not cut by it once their headers are out. `0` for none.
   * @default 0
   */
  readonly requestMs?: number;
  /**
   * Longest silence both ways on an upgraded connection (a WebSocket tunnel), after which
   * both sockets are closed and the lease released (HAProxy's `timeout tunnel`). `0` for
   * none.
   * @default 3_600_000 (1 h)
   */
  readonly tunnelIdleMs?: number;
}

/** Upgrades (`proxy.upgrade`). */
export interface ProxyUpgradeOptions {
  /**
   * The `Upgrade` protocols tunnelled (any case). An upgrade request for another (`h2c`,
   * say) is answered as an ordinary request, without the upgrade.
   * @default ['websocket']
   */
  readonly protocols?: readonly string[];
}

/** The `Upgrade` protocols tunnelled unless `upgrade.protocols` says otherwise. */
export const DEFAULT_UPGRADE_PROTOCOLS: readonly string[] = Object.freeze(['websocket']);

/**
 * Called instead of the built-in answer when the proxy cannot forward a response: `error`
 * is a `NoEndpointError` or a `PoolClosedError` (503), an `UpstreamUnavailableError`
 * (502), an `UpstreamTimeoutError` (504), a `BadRequestError` (400: a target that is not
 * origin-form or absolute http(s), a path that climbs above the root, a request the
 * upstream client refuses), a `BodyConsumedError` (500) or another error (500: what a
 * custom selector or the affinity `key` function threw, as is). The
 * hook must answer through `res` (it runs only while `res.headersSent` is false). If it
 * throws or rejects, the built-in answer is sent (when still possible).
 */
export type ProxyErrorHandler = (
  error: Error,
  req: IncomingMessage,
  res: ServerResponse,
) => void | Promise<void>;

/** Options of {@link createProxyHandler}. */
export interface ProxyOptions {
  /** Failover: attempts, retried statuses, body buffering, budget. */
  readonly retry?: RetryOptions;
  /** Connect, headers, idle and overall timeouts. */
  readonly timeouts?: ProxyTimeouts;
  /**
   * Session affinity: `{ cookie: 'name' }`, `{ by: 'ip' }` or `{ key: (req) => string }`.
   * @default none
   */
  readonly affinity?: AffinityOptions;
  /** Which upgrades are tunnelled; see {@link ProxyUpgradeOptions}. */
  readonly upgrade?: ProxyUpgradeOptions;
  /**
   * Which peers are proxies to be trusted, as Express's `trust proxy`: their
   * `X-Forwarded-*` and `Forwarded` headers are kept and appended to; from anyone else,
   * every forwarding header (`X-Forwarded-*` in either spelling, `Forwarded`, `X-Real-IP`,
   * `X-Client-IP`, `True-Client-IP`) is removed. `true` (every peer; the client is the
   * leftmost `X-Forwarded-For` address, which a client can forge), a hop count, trusted
   * addresses and CIDRs (`['10.0.0.0/8', 'loopback']`; the client is then the rightmost
   * address that is not a trusted proxy), or a function `(address, hop) => boolean`.
   * @default false
   */
  readonly trustProxy?: TrustProxy;
  /**
   * Send the endpoint's host as `Host` instead of the client's.
   * @default false
   */
  readonly changeOrigin?: boolean;
  /**
   * Set `X-Forwarded-For`, `X-Forwarded-Proto` and `X-Forwarded-Host`.
   * @default true
   */
  readonly xForwarded?: boolean;
  /**
   * Set an RFC 7239 `Forwarded` header too.
   * @default false
   */
  readonly forwarded?: boolean;
  /** Custom error pages; see {@link ProxyErrorHandler}. */
  readonly onError?: ProxyErrorHandler;
  /**
   * Most connections to one endpoint; `Infinity` for no limit (requests queue in undici
   * beyond it).
   * @default Infinity
   */
  readonly connections?: number;
  /**
   * How long an idle keep-alive connection to an endpoint is kept, ms; a shorter
   * `Keep-Alive: timeout` from the endpoint wins.
   * @default 4_000
   */
  readonly keepAliveTimeoutMs?: number;
  /**
   * Clock in ms since the epoch, for the retry budget and `Retry-After` dates.
   * @default Date.now
   */
  readonly now?: () => number;
}

const KNOWN = [
  'retry',
  'timeouts',
  'affinity',
  'trustProxy',
  'upgrade',
  'changeOrigin',
  'xForwarded',
  'forwarded',
  'onError',
  'connections',
  'keepAliveTimeoutMs',
  'now',
];

/** Options after validation and defaults. @internal */
export interface ResolvedProxyOptions {
  readonly policy: RetryPolicy;
  readonly connectMs: number;
  readonly headersMs: number;
  readonly idleMs: number;
  readonly requestMs: number;
  readonly tunnelIdleMs: number;
  readonly upgradeProtocols: ReadonlySet<string>;
  readonly affinity: Affinity | undefined;
  readonly trustProxy: ProxyTrust;
  readonly changeOrigin: boolean;
  readonly xForwarded: boolean;
  readonly forwarded: boolean;
  readonly onError: ProxyErrorHandler | undefined;
  readonly connections: number | null;
  readonly keepAliveTimeoutMs: number;
  readonly now: () => number;
}

/**
 * Validates the proxy options and resolves their defaults.
 * @throws TypeError or RangeError naming the option and quoting the value.
 * @internal
 */
export function resolveProxyOptions(options: ProxyOptions | undefined): ResolvedProxyOptions {
  const o = checkOptions('createProxyHandler', options, KNOWN);
  const now = o.now === undefined ? Date.now : checkFunction<() => number>('now', o.now);
  const t = checkOptions('timeouts', o.timeouts, [
    'connectMs',
    'headersMs',
    'idleMs',
    'requestMs',
    'tunnelIdleMs',
  ]);
  const ms = (name: string, value: unknown, fallback: number) =>
    checkNumber(`timeouts.${name}`, value === undefined ? fallback : value, {
      min: 0,
      max: MAX_TIMER_MS,
    });
  const u = checkOptions('upgrade', o.upgrade, ['protocols']);
  const protocols = u.protocols === undefined ? DEFAULT_UPGRADE_PROTOCOLS : u.protocols;
  if (
    !Array.isArray(protocols) ||
    !protocols.every((p) => typeof p === 'string' && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(p))
  ) {
    throw new TypeError(
      `upgrade.protocols must be an array of protocol names, got ${quote(protocols)}`,
    );
  }
  const connections = checkNumber(
    'connections',
    orDefault(o.connections, Number.POSITIVE_INFINITY),
    {
      min: 1,
      integer: true,
      allowInfinity: true,
    },
  );
  return {
    policy: new RetryPolicy(o.retry as RetryOptions | undefined, now),
    connectMs: ms('connectMs', t.connectMs, DEFAULT_CONNECT_TIMEOUT_MS),
    headersMs: ms('headersMs', t.headersMs, DEFAULT_HEADERS_TIMEOUT_MS),
    idleMs: ms('idleMs', t.idleMs, DEFAULT_IDLE_TIMEOUT_MS),
    requestMs: ms('requestMs', t.requestMs, 0),
    tunnelIdleMs: ms('tunnelIdleMs', t.tunnelIdleMs, DEFAULT_TUNNEL_IDLE_TIMEOUT_MS),
    upgradeProtocols: new Set(protocols.map((p: string) => p.toLowerCase())),
    affinity: o.affinity === undefined ? undefined : new Affinity(o.affinity as AffinityOptions),
    trustProxy: new ProxyTrust(o.trustProxy),
    changeOrigin: checkBoolean('changeOrigin', orDefault(o.changeOrigin, false)),
    xForwarded: checkBoolean('xForwarded', orDefault(o.xForwarded, true)),
    forwarded: checkBoolean('forwarded', orDefault(o.forwarded, false)),
    onError:
      o.onError === undefined ? undefined : checkFunction<ProxyErrorHandler>('onError', o.onError),
    connections: connections === Number.POSITIVE_INFINITY ? null : connections,
    keepAliveTimeoutMs: checkNumber(
      'keepAliveTimeoutMs',
      orDefault(o.keepAliveTimeoutMs, DEFAULT_KEEP_ALIVE_TIMEOUT_MS),
      { min: 1 },
    ),
    now,
  };
}

/** `value`, or `fallback` when it is undefined (null is a value, and gets rejected). */
function orDefault(value: unknown, fallback: unknown): unknown {
  return value === undefined ? fallback : value;
}
