/**
 * The `listeners` and `dashboard` sections of the config. HTTP listeners take the options
 * of `createProxyHandler`, TCP listeners those of `createTcpProxy`.
 * @internal
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseListenAddress } from './listen-address.js';
import { bool, MAX_DELAY_MS, ms, num, oneOf, strict, text } from './rules.js';

/** `listen`: `host:port` or `[ipv6]:port`. */
export const listenSchema = z
  .string({ error: 'must be "host:port" or "[ipv6]:port"' })
  .superRefine((value, ctx) => {
    const parsed = parseListenAddress(value);
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed, input: value });
  })
  .describe('Address to listen on: "127.0.0.1:8080", "0.0.0.0:80" or "[::1]:8080".');

const PROXY_PROTOCOL = 'must be false, "v1" or "v2"';
const TRUSTED =
  'must be an IP address, a CIDR block such as "10.0.0.0/8", "loopback", "linklocal" or "uniquelocal"';
const TRUST_PROXY = 'must be true, false, a hop count or an array of addresses and CIDR blocks';

/** The name of an environment variable (secrets come from there, never from the file). */
const ENV_NAME = z
  .string({ error: 'must be the name of an environment variable' })
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be the name of an environment variable' });
const SECURE = 'must be true, false or "auto"';

const poolName = text('Name of the pool (a key of "pools") that serves this listener.');

const budget = z
  .union(
    [
      z.literal(false, { error: 'must be false or an object' }),
      strict(
        {
          ratio: num('Retries may add up to this share of requests. Default 0.2.', {
            min: 0,
          }).optional(),
          minPerSecond: num('Retries always allowed per second. Default 10.', {
            min: 0,
          }).optional(),
          windowMs: num('Length of the sliding window, ms. Default 10000.', {
            min: 10,
            max: MAX_DELAY_MS,
          }).optional(),
        },
        'Retry budget settings.',
      ),
    ],
    { error: 'must be false or an object' },
  )
  .describe('The retry budget, or false for none. Default { ratio: 0.2, minPerSecond: 10 }.');

const retrySchema = strict(
  {
    attempts: num('Tries per request, the first included; 1 turns retries off. Default 3.', {
      min: 1,
      max: 100,
      integer: true,
    }).optional(),
    statuses: z
      .array(num('An HTTP status.', { min: 100, max: 599, integer: true }), {
        error: 'must be an array of statuses',
      })
      .describe('Upstream statuses retried on another endpoint. Default [502, 503, 504].')
      .optional(),
    bodyBufferBytes: num(
      'Request bodies up to this size are buffered so they can be sent again. Default 65536.',
      {
        min: 0,
        integer: true,
      },
    ).optional(),
    nonIdempotent: bool(
      'Retry POST, PATCH and other non-idempotent requests too. Default false.',
    ).optional(),
    budget: budget.optional(),
    maxRetryAfterMs: num('Cap on a Retry-After given to the pool, ms. Default 60000.', {
      min: 0,
      max: MAX_DELAY_MS,
    }).optional(),
  },
  'Failover: attempts, retried statuses, body buffering, budget.',
);

const timeoutsSchema = strict(
  {
    connectMs: ms(
      'Time to connect to an endpoint, per try; 0 for none. Default 2000.',
      true,
    ).optional(),
    headersMs: ms(
      'Time to the response headers, per try; 0 for none. Default 30000.',
      true,
    ).optional(),
    idleMs: ms(
      'Longest silence between response body chunks; 0 for none. Default 60000.',
      true,
    ).optional(),
    requestMs: ms(
      'Overall deadline to the response headers across tries; 0 for none. Default 0.',
      true,
    ).optional(),
    tunnelIdleMs: ms(
      'Longest silence both ways on an upgraded connection (a WebSocket tunnel); 0 for none. Default 3600000.',
      true,
    ).optional(),
  },
  'Timeouts of the proxy, in ms.',
);

const cookie = strict(
  {
    name: z
      .string({ error: 'must be a cookie name' })
      .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: 'must be a cookie name (a token)' })
      .describe("The cookie's name."),
    path: text('The cookie\'s Path. Default "/".').optional(),
    maxAgeSeconds: num("The cookie's Max-Age; none makes a session cookie.", {
      min: 0,
      integer: true,
    }).optional(),
    domain: text("The cookie's Domain.").optional(),
    secure: z
      .union([z.boolean({ error: SECURE }), z.literal('auto', { error: SECURE })], {
        error: SECURE,
      })
      .describe(
        'Mark the cookie Secure: true, false, or "auto" (when the client connection is TLS). Default "auto".',
      )
      .optional(),
    sameSite: oneOf(['Strict', 'Lax', 'None'], 'The cookie\'s SameSite. Default "Lax".').optional(),
    httpOnly: bool('Mark the cookie HttpOnly. Default true.').optional(),
  },
  'Cookie settings.',
);

const httpAffinity = z
  .union(
    [
      strict(
        {
          cookie: z
            .union([cookie.shape.name, cookie], {
              error: 'must be a cookie name or an object with a name',
            })
            .describe('Sticky by cookie: its name, or its full settings.'),
          secretEnv: ENV_NAME.describe(
            "Environment variable holding the HMAC secret of the cookie (16 characters or more), shared by every proxy that must read the others' cookies. Default: a random secret per process.",
          ).optional(),
        },
        'Sticky by cookie.',
      ),
      strict(
        { by: z.literal('ip', { error: 'must be "ip"' }).describe('Sticky by client address.') },
        'Sticky by client address.',
      ),
    ],
    { error: 'must be { "cookie": "name" } or { "by": "ip" }' },
  )
  .describe('Session affinity: { "cookie": "sy" } or { "by": "ip" } (with a hashing selector).');

const NAMED_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

const trustedAddress = z.string({ error: TRUSTED }).refine(
  (value) => {
    if (NAMED_RANGES.includes(value)) return true;
    const [address, bits, extra] = value.split('/');
    const family = isIP(address ?? '');
    if (family === 0 || extra !== undefined) return false;
    if (bits === undefined) return true;
    const n = Number(bits);
    return /^\d{1,3}$/.test(bits) && n <= (family === 4 ? 32 : 128);
  },
  { error: TRUSTED },
);

const upgradeSchema = strict(
  {
    protocols: z
      .array(
        z
          .string({ error: 'must be a protocol name' })
          .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z/]+$/, { error: 'must be a protocol name (a token)' }),
        { error: 'must be an array of protocol names' },
      )
      .describe(
        'The Upgrade protocols tunnelled; another is answered as an ordinary request. Default ["websocket"].',
      )
      .optional(),
  },
  'Upgrades (WebSocket) through the proxy.',
);

const httpListener = strict(
  {
    protocol: z.literal('http'),
    listen: listenSchema,
    pool: poolName,
    retry: retrySchema.optional(),
    timeouts: timeoutsSchema.optional(),
    affinity: httpAffinity.optional(),
    upgrade: upgradeSchema.optional(),
    trustProxy: z
      .union(
        [
          z.boolean({ error: TRUST_PROXY }),
          num('A hop count: the nearest hops are trusted proxies.', { min: 0, integer: true }),
          z.array(trustedAddress, { error: TRUST_PROXY }),
        ],
        { error: TRUST_PROXY },
      )
      .describe(
        'Which peers are proxies whose X-Forwarded-* headers are believed: true (all), false (none), a hop count, or addresses, CIDR blocks and "loopback", "linklocal", "uniquelocal". Default false.',
      )
      .optional(),
    changeOrigin: bool(
      "Send the endpoint's host as Host instead of the client's. Default false.",
    ).optional(),
    xForwarded: bool('Set X-Forwarded-For, -Proto and -Host. Default true.').optional(),
    forwarded: bool('Set an RFC 7239 Forwarded header too. Default false.').optional(),
    connections: num('Most connections to one endpoint. Default: no limit.', {
      min: 1,
      integer: true,
    }).optional(),
    keepAliveTimeoutMs: ms(
      'How long an idle connection to an endpoint is kept. Default 4000.',
    ).optional(),
  },
  'An HTTP reverse proxy in front of a pool.',
);

const tcpListener = strict(
  {
    protocol: z.literal('tcp'),
    listen: listenSchema,
    pool: poolName,
    proxyProtocol: z
      .union(
        [
          z.literal(false, { error: PROXY_PROTOCOL }),
          z.enum(['v1', 'v2'], { error: PROXY_PROTOCOL }),
        ],
        {
          error: PROXY_PROTOCOL,
        },
      )
      .describe('Send a PROXY protocol header to the upstream. Default false.')
      .optional(),
    connectTimeoutMs: ms('Time to connect to an endpoint, per attempt. Default 2000.').optional(),
    idleTimeoutMs: ms(
      'No byte either way for this long closes both sides; 0 turns it off. Default 300000.',
      true,
    ).optional(),
    attempts: num('Connect attempts, each on an endpoint not yet tried. Default 3.', {
      min: 1,
      max: 100,
      integer: true,
    }).optional(),
    affinity: strict(
      { by: z.literal('ip', { error: 'must be "ip"' }).describe('Sticky by client address.') },
      'Sticky by client address.',
    )
      .describe('The client address as the selector key: { "by": "ip" }.')
      .optional(),
  },
  'A TCP (layer 4) proxy in front of a pool.',
);

/** One listener: `protocol` says which kind. */
export const listenerSchema = z
  .discriminatedUnion('protocol', [httpListener, tcpListener], { error: 'must be "http" or "tcp"' })
  .describe(
    'A listener: { "protocol": "http" | "tcp", "listen": "host:port", "pool": "name", ... }.',
  );

/** `dashboard`: the page, JSON, events and metrics on their own address. */
export const dashboardSchema = strict(
  {
    listen: listenSchema,
    admin: strict(
      {
        tokenEnv: ENV_NAME.describe(
          'Environment variable holding the admin token; the token itself never goes in the file.',
        ),
      },
      'Admin actions (drain, enable, disable) with a bearer token.',
    )
      .describe('Admin actions; without it the dashboard is read-only.')
      .optional(),
  },
  'The dashboard: page, JSON snapshot, events and Prometheus metrics.',
);

/** A listener as written in the file. */
export type ListenerConfig = z.infer<typeof listenerSchema>;
/** An HTTP listener as written in the file. */
export type HttpListenerConfig = z.infer<typeof httpListener>;
/** A TCP listener as written in the file. */
export type TcpListenerConfig = z.infer<typeof tcpListener>;
/** The dashboard as written in the file. */
export type DashboardConfig = z.infer<typeof dashboardSchema>;
