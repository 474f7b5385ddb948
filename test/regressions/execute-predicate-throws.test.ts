import { describe, expect, it } from 'vitest';
import { makePool, urls } from '../pool/support.js';

const [A] = urls(1) as [string];

/**
 * `execute` released an attempt's lease only after asking `countsAsFailure` how to release
 * it: a predicate that threw left the lease out for good, so the endpoint showed one
 * request in flight forever and, when drained, never left the pool.
 */
describe('execute: a throwing predicate leaves no lease behind', () => {
  const down = (): never => {
    throw new Error('down');
  };
  const broken = (): never => {
    throw new Error('predicate');
  };

  it('countsAsFailure throws: the attempt counts as failed and execute rejects with it', async () => {
    const { pool } = makePool({ endpoints: [A], outlierDetection: false });
    await expect(pool.execute(down, { countsAsFailure: broken })).rejects.toThrow('predicate');
    expect(pool.snapshot().totals).toMatchObject({ inflight: 0, requests: 1, failures: 1 });
  });

  it('a draining endpoint still leaves', async () => {
    const { pool } = makePool({ endpoints: [A], outlierDetection: false });
    const result = pool.execute(
      async () => {
        pool.remove(A, { drain: true });
        down();
      },
      { countsAsFailure: broken },
    );
    await expect(result).rejects.toThrow('predicate');
    expect(pool.get(A)).toBeUndefined();
  });

  it('retryOn throws: the lease was already released as failed', async () => {
    const { pool } = makePool({ endpoints: [A], outlierDetection: false });
    await expect(pool.execute(down, { retryOn: broken })).rejects.toThrow('predicate');
    expect(pool.snapshot().totals).toMatchObject({ inflight: 0, failures: 1 });
  });
});
