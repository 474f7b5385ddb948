// The logger every layer writes to (the health monitor now; the proxy and the CLI can
// take the same type): any pino-compatible logger, silent by default.

import { quote } from './validate.js';

/**
 * A logger with pino's calling convention — an object of fields first, then the message —
 * so pino itself, Fastify's `app.log`, or a child logger (`logger.child({ pool: 'users' })`)
 * can be passed as they are. Silent by default ({@link SILENT_LOGGER}).
 *
 * Levels as switchyard uses them: `error` for what needs a person, `warn` for an endpoint
 * taken out or failing, `info` for an endpoint coming back, `debug` for every repeated
 * failure. Field names follow pino's: `err` holds an error.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * const monitor = new HealthMonitor(pool, { logger: pino({ level: 'info' }) });
 * // {"level":40,"endpoint":"http://10.0.0.2:8080","from":"healthy","to":"unhealthy","reason":"health-check","msg":"http://10.0.0.2:8080 healthy -> unhealthy (health-check)"}
 * ```
 */
export interface Logger {
  /** Detail for debugging (each failed check of an endpoint already failing). */
  debug(fields: object, message: string): void;
  /** Normal operation worth a line (an endpoint back in service). */
  info(fields: object, message: string): void;
  /** Something degraded (an endpoint taken out, a check failing). */
  warn(fields: object, message: string): void;
  /** Something broken that needs a person. */
  error(fields: object, message: string): void;
}

const nothing = (): void => {};

/** The default logger: says nothing. */
export const SILENT_LOGGER: Logger = Object.freeze({
  debug: nothing,
  info: nothing,
  warn: nothing,
  error: nothing,
});

/**
 * `value` as a {@link Logger}, or {@link SILENT_LOGGER} when undefined.
 * @throws TypeError naming the option when `value` lacks one of the four methods.
 * @internal
 */
export function checkLogger(name: string, value: unknown): Logger {
  if (value === undefined) return SILENT_LOGGER;
  const logger = value as Partial<Record<keyof Logger, unknown>> | null;
  if (typeof logger === 'object' && logger !== null) {
    const missing = (['debug', 'info', 'warn', 'error'] as const).find(
      (level) => typeof logger[level] !== 'function',
    );
    if (missing === undefined) return logger as Logger;
    throw new TypeError(
      `${name} must be a pino-compatible logger with debug, info, warn and error methods; it has no ${missing} method`,
    );
  }
  throw new TypeError(
    `${name} must be a pino-compatible logger with debug, info, warn and error methods, got ${quote(value)}`,
  );
}
