/**
 * The `pools` section of the config: endpoints or DNS discovery, the selector, the health
 * check, outlier detection, slow start and the panic threshold. Names and bounds are the
 * API's (`PoolOptions`, `HealthMonitorOptions`, `httpCheck`, `tcpCheck`, the selectors').
 * @internal
 */
import { z } from 'zod';
import { healthCheckSchema } from './health-check-schema.js';
import { bool, MAX_DELAY_MS, ms, num, oneOf, strict, text } from './rules.js';
import { selectorSchema } from './selector-schema.js';

const URL_MESSAGE = 'must be an absolute URL such as "http://127.0.0.1:8080"';

/** An absolute URL (the pool parses it again; this catches the mistake in the file). */
export const urlSchema = z
  .string({ error: URL_MESSAGE })
  .refine((value) => URL.canParse(value), { error: URL_MESSAGE })
  .describe(
    'Where requests go: http://host:port (HTTP listeners) or tcp://host:port (TCP listeners).',
  );

const endpointObject = strict(
  {
    url: urlSchema,
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
  .union([urlSchema, endpointObject], { error: 'must be a URL string or an object with a url' })
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
    drain: bool(
      'Endpoints that leave the DNS answer finish their requests in flight first. Default true.',
    ).optional(),
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
/** An endpoint as written in the file. */
export type EndpointConfig = z.infer<typeof endpointSchema>;
/** DNS discovery as written in the file. */
export type DnsDiscoveryConfig = z.infer<typeof dnsSchema>;
