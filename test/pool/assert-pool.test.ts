import { describe, expect, it } from 'vitest';
import { assertPool, Pool } from '../../src/index.js';
import { FakePool } from '../health/fake-pool.js';

describe('assertPool', () => {
  it('accepts a Pool and any object that fulfils PoolLike', () => {
    expect(() => assertPool(new Pool({ endpoints: ['http://127.0.0.1:9'] }), 'x')).not.toThrow();
    expect(() => assertPool(new FakePool(), 'x')).not.toThrow();
  });

  it('names the owner and what is missing', () => {
    expect(() => assertPool(null, 'createProxyHandler')).toThrow(
      /^createProxyHandler needs a Pool as its first argument, got null$/,
    );
    expect(() => assertPool({}, 'HealthMonitor')).toThrow(
      /^HealthMonitor needs a Pool as its first argument, got \{\} \(no acquire\(\)\)$/,
    );
    const { setHealth: _, ...noHealth } = {
      acquire() {},
      tryAcquire() {},
      onMembershipChange() {},
      onStateChange() {},
      setHealth() {},
    };
    expect(() => assertPool(noHealth, 'x')).toThrow(/\(no setHealth\(\)\)$/);
    expect(() => assertPool({ ...noHealth, setHealth() {} }, 'x')).toThrow(
      /no endpoints array or closed flag/,
    );
  });
});
