import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { describe, expect, expectTypeOf, it, onTestFinished } from 'vitest';
import { HealthMonitor, type Logger, Pool, SILENT_LOGGER } from '../src/index.js';

describe('Logger', () => {
  it('takes pino as it is (Fastify’s app.log is a pino logger), and its child loggers', () => {
    const app = Fastify();
    onTestFinished(() => app.close());
    expectTypeOf(app.log).toExtend<Logger>();
    expectTypeOf(app.log.child({ pool: 'users' })).toExtend<Logger>();
    expectTypeOf(SILENT_LOGGER).toEqualTypeOf<Logger>();
  });

  it('is silent by default and frozen', () => {
    expect(Object.isFrozen(SILENT_LOGGER)).toBe(true);
    expect(SILENT_LOGGER.warn({ a: 1 }, 'nothing')).toBeUndefined();
  });

  it('writes pino lines through a real pino logger, with `this` kept', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(JSON.parse(String(chunk)));
        callback();
      },
    });
    const app = Fastify({ logger: { level: 'debug', stream } });
    onTestFinished(() => app.close());
    const pool = new Pool({ endpoints: ['http://127.0.0.1:1'] });
    const monitor = new HealthMonitor(pool, {
      check: async () => {
        throw new Error('down');
      },
      unhealthyThreshold: 2,
      logger: app.log.child({ component: 'health' }),
    });
    onTestFinished(async () => {
      await monitor.stop();
      await pool.close();
    });
    await monitor.checkNow();
    await monitor.checkNow();
    const shown = lines.map(({ level, component, endpoint, msg, err }) => ({
      level,
      component,
      endpoint,
      msg,
      err: (err as { message?: string } | undefined)?.message,
    }));
    expect(shown).toEqual([
      {
        level: 40,
        component: 'health',
        endpoint: 'http://127.0.0.1:1',
        msg: 'health check of http://127.0.0.1:1 failed: down',
        err: 'down',
      },
      {
        level: 20,
        component: 'health',
        endpoint: 'http://127.0.0.1:1',
        msg: 'health check of http://127.0.0.1:1 failed: down',
        err: 'down',
      },
      {
        level: 40,
        component: 'health',
        endpoint: 'http://127.0.0.1:1',
        msg: 'http://127.0.0.1:1 healthy -> unhealthy (health-check)',
        err: undefined,
      },
    ]);
  });

  it('refuses what is not a logger, naming the option', () => {
    const pool = new Pool({ endpoints: ['http://127.0.0.1:1'] });
    onTestFinished(() => pool.close());
    expect(() => new HealthMonitor(pool, { logger: 42 as never })).toThrow(
      new TypeError(
        'logger must be a pino-compatible logger with debug, info, warn and error methods, got 42',
      ),
    );
    expect(() => new HealthMonitor(pool, { logger: console as never })).not.toThrow();
    expect(
      () => new HealthMonitor(pool, { logger: { info() {}, warn() {}, error() {} } as never }),
    ).toThrow(/logger must be a pino-compatible logger .*; it has no debug method/);
    expect(() => new HealthMonitor(pool, { unejectOnPass: 'yes' as never })).toThrow(
      /unejectOnPass must be a boolean, got "yes"/,
    );
  });

  it('pool.setHealth refuses options it does not know', () => {
    const pool = new Pool({ endpoints: ['http://127.0.0.1:1'] });
    onTestFinished(() => pool.close());
    expect(() => pool.setHealth('http://127.0.0.1:1', true, 'x', { end: true } as never)).toThrow(
      /setHealth got an unknown option "end"/,
    );
    expect(() =>
      pool.setHealth('http://127.0.0.1:1', true, 'x', { endEjection: 1 } as never),
    ).toThrow(/endEjection must be a boolean, got 1/);
  });
});
