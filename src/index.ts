/**
 * switchyard: embeddable load balancing. This entry holds the pure parts — selectors,
 * `Pool`, `HealthMonitor`, errors and types — and runs on any JavaScript runtime: nothing
 * it imports touches `node:` modules or undici.
 *
 * @example
 * ```ts
 * import { Pool, PowerOfTwoChoices } from 'switchyard';
 * const pool = new Pool({ endpoints: ['http://127.0.0.1:8081', 'http://127.0.0.1:8082'],
 *                         selector: new PowerOfTwoChoices() });
 * ```
 * @module
 */
export * from './errors.js';
export * from './health/index.js';
export { type Logger, SILENT_LOGGER } from './logger.js';
export * from './pool/index.js';
export * from './selectors/index.js';
