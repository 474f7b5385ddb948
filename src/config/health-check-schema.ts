/**
 * The `healthCheck` of a pool in the config: the check's options (`httpCheck`, `tcpCheck`)
 * and the monitor's (`HealthMonitor`) side by side, told apart by `type`.
 * @internal
 */
import { z } from 'zod';
import { bool, ms, num, strict, text } from './rules.js';

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
  unejectOnPass: bool(
    "A passing check ends an outlier ejection (Envoy's successful_active_health_check_uneject_host). Default true.",
  ).optional(),
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

/** A health check as written in the file. */
export type HealthCheckConfig = z.infer<typeof healthCheckSchema>;
