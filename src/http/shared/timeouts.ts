/**
 * The default timeouts of the HTTP adapters: the proxy and the balanced dispatcher share
 * them, so an outbound call and a proxied one fail over on the same clock.
 * @internal
 */

/** Connect timeout per try, ms. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
/** Time allowed for response headers per try, ms. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 30_000;
/** Longest silence between response body chunks, ms (NGINX's `proxy_read_timeout`). */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** How long an idle upstream keep-alive connection is kept, ms (below Node's server default of 5 s). */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 4_000;
/** Longest silence both ways on an upgraded connection (WebSocket), ms: HAProxy's `timeout tunnel`. */
export const DEFAULT_TUNNEL_IDLE_TIMEOUT_MS = 3_600_000;
/** The largest delay a Node timer takes, ms. */
export const MAX_TIMER_MS = 2_147_483_647;
