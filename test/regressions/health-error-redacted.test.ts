import { expect, it } from 'vitest';
import { HealthMonitor } from '../../src/health/health-monitor.js';
import { Pool } from '../../src/pool/pool.js';

// A custom check may quote the URL it connected to, credentials included
// (`endpoint.parsedUrl`). What the monitor shows of the failure (status(), hence the
// dashboard, and the log line) must not carry them.
it("masks credentials in a failed check's text, in status() and in the log", async () => {
  const pool = new Pool({
    endpoints: ['http://user:s3cret@127.0.0.1:9', 'http://tok3n@127.0.0.2:9'],
  });
  const logged: string[] = [];
  const log = (_fields: unknown, message: string) => void logged.push(message);
  const monitor = new HealthMonitor(pool, {
    check: async (endpoint) => {
      throw new Error(`GET ${endpoint.parsedUrl.href}health failed`);
    },
    logger: { error: log, warn: log, info: log, debug: log },
  });
  await monitor.checkNow();
  const texts = pool.endpoints.map((e) => monitor.status(e.id)?.last);
  expect(texts).toEqual([
    expect.objectContaining({ ok: false, error: 'GET http://***@127.0.0.1:9/health failed' }),
    expect.objectContaining({ ok: false, error: 'GET http://***@127.0.0.2:9/health failed' }),
  ]);
  expect(logged.join('\n')).not.toMatch(/s3cret|tok3n/);
  expect(logged).toHaveLength(2);
  await monitor.stop();
  await pool.close();
});
