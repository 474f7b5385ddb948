/**
 * The `pools` section of the config: endpoints or DNS discovery, the selector, the health
 * check, outlier detection, slow start and the panic threshold. Names and bounds are the
 * API's (`PoolOptions`, `HealthMonitorOptions`, `httpCheck`, `tcpCheck`, the selectors').
 * @internal
 */
import { z } from 'zod';
import { bool, MAX_DELAY_MS, ms, num, oneOf, strict, text } from './rules.js';

const URL_MESSAGE = 'must be an absolute URL such as "http://127.0.0.1:8080"';

/** An absolute URL (the pool parses it again; this catches the mistake in the file). */
const url = z
  .string({ error: URL_MESSAGE })
  .refine((value) => URL.canParse(value), { error: URL_MESSAGE })
  .describe(
    'Where requests go: http://host:port (HTTP listeners) or tcp://host:port (TCP listeners).',
  );

const endpointObject = strict(
  {
    url,
    id: text('Stable identity; defaults to the normalised url.').optional(),
    weight: num('Relative capacity. Default 1.', { min: 0, minExclusive: true }).optional(),
    priority: num(
      'Priority tier: 0 is the best; higher tiers serve only when better ones have no eligible endpoint. Default 0.',
      {
        min: 0,
        integer: true,
      },
    ).optional(),
    metadata: z
      .record(z.string(), z.unknown(), { error: 'must be an object' })
      .describe('Free-form data kept with the endpoint (zone, version, ...).')
      .optional(),
  },
  'An endpoint with its weight, priority tier and metadata.',
);

/** An endpoint: a URL string or `{ url, weight?, priority?, id?, metadata? }`. */
export const endpointSchema = z
  .union([url, endpointObject], { error: 'must be a URL string or an object with a url' })
  .describe('A URL string, or an object { url, weight, priority, id, metadata }.');

const dnsSchema = strict(
  {
    name: text(
      'The name to resolve: an SRV name such as _http._tcp.app.internal, or a host name for A/AAAA.',
    ),
    type: oneOf(['SRV', 'A', 'AAAA'], 'Record type. Default "SRV".').optional(),
    port: num('Port of every endpoint; required for A and AAAA records.', {
      min: 1,
      max: 65_535,
      integer: true,
    }).optional(),
    scheme: oneOf(
      ['http', 'https', 'tcp'],
      'Scheme of the endpoint URLs. Default "http".',
    ).optional(),
    servers: z
      .array(text('A DNS server as host or host:port.'), {
        error: 'must be an array of "host:port" strings',
      })
      .min(1, { error: 'must name at least one server' })
      .describe('DNS servers to ask; default: the system resolver.')
      .optional(),
    minRefreshMs: ms(
      'Shortest time between lookups (record TTLs are clamped to it). Default 1000.',
    ).optional(),
    maxRefreshMs: ms('Longest time between lookups. Default 30000.').optional(),
    timeoutMs: ms('Time allowed for one lookup. Default 2000.').optional(),
    emptyOnNxdomain: bool(
      'Empty the pool when the name does not exist (NXDOMAIN). Default false.',
    ).optional(),
  },
  'DNS discovery (A, AAAA or SRV records); a failed lookup keeps the last good set.',
);

/** `discovery`: where the endpoints come from when they are not listed. */
export const discoverySchema = strict(
  { dns: dnsSchema },
  'Where the endpoints come from instead of a fixed list.',
);

const keyCacheSize = num(
  'Keys remembered with their endpoint, from 0 (no cache) to 2^20. Default 4096.',
  {
    min: 0,
    max: 1_048_576,
    integer: true,
  },
).optional();

const isPrime = (n: number): boolean => {
  if (n < 2 || !Number.isInteger(n)) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
};

/** Selector names: the classes' names in kebab case. */
export const SELECTOR_NAMES = [
  'round-robin',
  'weighted-round-robin',
  'random',
  'weighted-random',
  'least-connections',
  'power-of-two-choices',
  'peak-ewma',
  'ring-hash',
  'maglev',
  'rendezvous',
] as const;

/** A selector name in kebab case. */
export type SelectorName = (typeof SELECTOR_NAMES)[number];

const plain = (name: Exclude<SelectorName, 'ring-hash' | 'maglev' | 'rendezvous'>) =>
  strict({ type: z.literal(name) }, `The ${name} selector; it has no options here.`);

const selectorObject = z
  .discriminatedUnion(
    'type',
    [
      plain('round-robin'),
      plain('weighted-round-robin'),
      plain('random'),
      plain('weighted-random'),
      plain('least-connections'),
      plain('power-of-two-choices'),
      plain('peak-ewma'),
      strict(
        {
          type: z.literal('ring-hash'),
          vnodes: num('Virtual nodes per unit of weight. Default 160.', {
            min: 1,
            max: 65_536,
            integer: true,
          }).optional(),
          loadFactor: num(
            'Bounded loads: no endpoint takes more than loadFactor times the mean in flight. Default: no bound.',
            {
              min: 1,
              minExclusive: true,
            },
          ).optional(),
          keyCacheSize,
        },
        'Consistent hashing on a ring of virtual nodes.',
      ),
      strict(
        {
          type: z.literal('maglev'),
          tableSize: num(
            'Size of the lookup table: a prime greater than the number of endpoints. Default 65537.',
            {
              min: 2,
              max: 16_777_216,
              integer: true,
            },
          )
            .refine(isPrime, { error: 'must be a prime number' })
            .optional(),
          keyCacheSize,
        },
        'Maglev consistent hashing (a lookup table).',
      ),
      strict({ type: z.literal('rendezvous'), keyCacheSize }, 'Highest-random-weight hashing.'),
    ],
    { error: `must be one of ${SELECTOR_NAMES.map((n) => `"${n}"`).join(', ')}` },
  )
  .describe('A selector with options: { "type": "ring-hash", "vnodes": 320 }.');

/** `selector`: a name, or `{ type, ...options }`. */
export const selectorSchema = z
  .union([oneOf(SELECTOR_NAMES, 'A selector by name.'), selectorObject], {
    error: 'must be a selector name or an object with a type',
  })
  .describe('The strategy that picks an endpoint. Default "power-of-two-choices".');

const expectStatus = z
  .union(
    [
      num('One status code.', { min: 100, max: 599, integer: true }),
      z
        .tuple(
          [
            num('Lowest status.', { min: 100, max: 599, integer: true }),
            num('Highest status.', { min: 100, max: 599, integer: true }),
          ],
          {
            error: 'must be a status or a [min, max] pair',
          },
        )
        .refine(([min, max]) => min <= max, { error: 'must be a [min, max] pair with min <= max' }),
    ],
    { error: 'must be a status or a [min, max] pair' },
  )
  .describe('Statuses that pass: one code, or an inclusive [min, max] range. Default [200, 399].');

const monitor = {
  intervalMs: ms('Time between checks of a healthy endpoint. Default 5000.').optional(),
  unhealthyIntervalMs: ms(
    'Time between checks while an endpoint is down or its last check failed. Default min(1000, intervalMs).',
  ).optional(),
  timeoutMs: ms('A check running longer fails. Default 2000.').optional(),
  jitter: num('Spread of the delays, as a fraction. Default 0.1.', { min: 0, max: 0.5 }).optional(),
  healthyThreshold: num('Passes in a row that bring an endpoint back. Default 2.', {
    min: 1,
    integer: true,
  }).optional(),
  unhealthyThreshold: num('Failures in a row that take an endpoint out. Default 3.', {
    min: 1,
    integer: true,
  }).optional(),
  concurrency: num('Most checks in flight at once. Default 64.', {
    min: 1,
    integer: true,
  }).optional(),
};

const httpHealth = strict(
  {
    type: z.literal('http'),
    path: z
      .string({ error: 'must be a path starting with "/"' })
      .startsWith('/', { error: 'must be a path starting with "/"' })
      .describe('Path and query to request. Default "/".')
      .optional(),
    method: z
      .string({ error: 'must be an HTTP method' })
      .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, { error: 'must be an HTTP method' })
      .describe('Request method. Default "GET".')
      .optional(),
    expectStatus: expectStatus.optional(),
    expectBody: text('The body must contain this text.').optional(),
    maxBodyBytes: num('Most body bytes read. Default 16384.', { min: 0, integer: true }).optional(),
    headers: z
      .record(z.string(), z.string({ error: 'must be a string' }), {
        error: 'must be an object of strings',
      })
      .describe('Request headers.')
      .optional(),
    host: text("Host header to send. Default: the endpoint's host.").optional(),
    reuseConnections: bool('Keep connections open between checks. Default true.').optional(),
    ...monitor,
  },
  'An HTTP health check and how often it runs.',
);

const tcpHealth = strict(
  {
    type: z.literal('tcp'),
    port: num("Port to check instead of the endpoint's.", {
      min: 1,
      max: 65_535,
      integer: true,
    }).optional(),
    send: text('Text to write once connected, e.g. "PING\\r\\n".').optional(),
    expect: text('The answer must contain this text.').optional(),
    maxBytes: num('Most bytes read while waiting for expect. Default 16384.', {
      min: 1,
      integer: true,
    }).optional(),
    ...monitor,
  },
  'A TCP health check (connect, optionally send and expect) and how often it runs.',
);

/** `healthCheck`: the check's options and the monitor's, side by side. */
export const healthCheckSchema = z
  .discriminatedUnion('type', [httpHealth, tcpHealth], { error: 'must be "http" or "tcp"' })
  .describe('Active health checking: { "type": "http", "path": "/healthz", "intervalMs": 2000 }.');

/** `outlierDetection`: the pool's passive health checking, or `false`. */
export const outlierSchema = z
  .union(
    [
      z.literal(false, { error: 'must be false or an object' }),
      strict(
        {
          consecutiveFailures: num('Failures in a row that eject an endpoint. Default 5.', {
            min: 1,
            integer: true,
          }).optional(),
          baseEjectionMs: ms(
            'First ejection time; the n-th in a row lasts n times as long. Default 30000.',
          ).optional(),
          maxEjectionMs: ms(
            'Longest ejection, at least baseEjectionMs. Default 300000.',
          ).optional(),
          maxEjectionPercent: num(
            'Largest share of the pool ejected at once, in percent. Default 50.',
            { min: 0, max: 100 },
          ).optional(),
          latencyFactor: num(
            'Eject an endpoint slower than this many times the median of its peers. Default: off.',
            {
              min: 1,
              minExclusive: true,
            },
          ).optional(),
          latencyWindowMs: ms('How long an endpoint must stay slow. Default 10000.').optional(),
          latencyMinSamples: num('Samples needed before latency counts. Default 20.', {
            min: 1,
            integer: true,
          }).optional(),
        },
        'Outlier detection settings.',
      ),
    ],
    { error: 'must be false or an object' },
  )
  .describe(
    'Passive health checking (ejection after failures), or false. Default: on, with its defaults.',
  );

/** One pool. */
export const poolSchema = strict(
  {
    endpoints: z
      .array(endpointSchema, { error: 'must be an array of endpoints' })
      .describe('The endpoints; give either this or discovery.')
      .optional(),
    discovery: discoverySchema.optional(),
    selector: selectorSchema.optional(),
    healthCheck: healthCheckSchema.optional(),
    outlierDetection: outlierSchema.optional(),
    slowStartMs: num('Ramp time of slow start, ms; 0 disables it. Default 0.', {
      min: 0,
      max: MAX_DELAY_MS,
    }).optional(),
    panicThreshold: num(
      'Below this healthy share of a tier, all of its endpoints are eligible; 0 disables panic. Default 0.5.',
      {
        min: 0,
        max: 1,
      },
    ).optional(),
    maxRetryAfterMs: num(
      'Cap on a Retry-After from an endpoint, ms; 0 ignores Retry-After. Default 60000.',
      {
        min: 0,
        max: MAX_DELAY_MS,
      },
    ).optional(),
    latencyDecayMs: ms('Time constant of the latency average, ms. Default 10000.').optional(),
  },
  'A pool of endpoints: give exactly one of endpoints and discovery.',
);

/** A pool as written in the file. */
export type PoolConfig = z.infer<typeof poolSchema>;
/** A health check as written in the file. */
export type HealthCheckConfig = z.infer<typeof healthCheckSchema>;
/** A selector as written in the file. */
export type SelectorConfig = z.infer<typeof selectorSchema>;
/** An endpoint as written in the file. */
export type EndpointConfig = z.infer<typeof endpointSchema>;
/** DNS discovery as written in the file. */
export type DnsDiscoveryConfig = z.infer<typeof dnsSchema>;
