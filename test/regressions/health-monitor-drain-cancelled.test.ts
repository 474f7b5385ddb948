import { describe, expect, it, onTestFinished } from 'vitest';
import { HealthMonitor, Pool } from '../../src/index.js';
import { urls } from '../pool/support.js';

const [A, B] = urls(2) as [string, string];

/**
 * The monitor followed health set by others only on events leaving `unhealthy`. Health
 * restored while the endpoint was draining shows no event (draining outranks it), and the
 * drain's cancellation arrives as `draining → healthy`: the monitor kept its own view
 * (unhealthy), ignored every later failure, and left a failing endpoint in service.
 */
describe('HealthMonitor follows health restored under a drain', () => {
  it('takes the endpoint out again when its checks keep failing', async () => {
    const pool = new Pool({ endpoints: [A, B] });
    const failing = new Set([A]);
    const monitor = new HealthMonitor(pool, {
      check: async (endpoint) => {
        if (failing.has(endpoint.id)) throw new Error('down');
      },
      unhealthyThreshold: 1,
      healthyThreshold: 2,
    });
    onTestFinished(() => monitor.stop());
    const lease = pool.acquire({ prefer: A });
    await monitor.checkNow();
    expect(pool.get(A)!.state).toBe('unhealthy');
    pool.remove(A, { drain: true });
    pool.setHealth(A, true, 'admin'); // no event: the endpoint is draining
    pool.add(A); // the drain is cancelled: draining → healthy
    expect(pool.get(A)!.state).toBe('healthy');
    await monitor.checkNow();
    expect(pool.get(A)!.state).toBe('unhealthy');
    lease.release();
  });
});
