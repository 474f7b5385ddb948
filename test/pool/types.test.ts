import { describe, expectTypeOf, it } from 'vitest';
import {
  type AcquireOptions,
  type AttemptsExhaustedError,
  type Disposable,
  type EndpointState,
  type Lease,
  Maglev,
  PeakEwma,
  type PickContext,
  Pool,
  type PoolEndpoint,
  type PoolLike,
  type PoolSnapshot,
  PowerOfTwoChoices,
  type ReleaseOutcome,
  RoundRobin,
  type StateChangeEvent,
} from '../../src/index.js';

// Checked by `tsc` (the typecheck covers test/); the runtime part only builds a pool.
describe('Pool: public types', () => {
  it('has the signatures other layers code against', () => {
    const pool = new Pool({
      endpoints: ['http://127.0.0.1:9001'],
      selector: new PowerOfTwoChoices(),
    });
    // Every selector class fits the option without naming the endpoint type.
    new Pool({ selector: new RoundRobin() });
    new Pool({ selector: new PeakEwma() });
    new Pool({ selector: new Maglev() });
    expectTypeOf(pool).toMatchTypeOf<PoolLike>();
    expectTypeOf(pool.acquire).returns.toEqualTypeOf<Lease>();
    expectTypeOf(pool.tryAcquire).returns.toEqualTypeOf<Lease | undefined>();
    expectTypeOf<Lease['endpoint']>().toEqualTypeOf<PoolEndpoint>();
    expectTypeOf<Lease['startedAt']>().toEqualTypeOf<number>();
    expectTypeOf<Lease['elapsedMs']>().toEqualTypeOf<() => number>();
    expectTypeOf<ReleaseOutcome['latencyMs']>().toEqualTypeOf<number | undefined>();
    // `prefer` is the pool's: acquire options are a pick context, not the other way round.
    expectTypeOf<AcquireOptions['prefer']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<AcquireOptions>().toExtend<PickContext<PoolEndpoint>>();
    expectTypeOf<PickContext<PoolEndpoint>>().not.toHaveProperty('prefer');
    expectTypeOf(pool.acquire).parameter(0).toEqualTypeOf<AcquireOptions | undefined>();
    expectTypeOf<PoolEndpoint['state']>().toEqualTypeOf<EndpointState>();
    expectTypeOf(pool.onStateChange).parameter(0).parameter(0).toEqualTypeOf<StateChangeEvent>();
    expectTypeOf(pool.onStateChange).returns.toEqualTypeOf<Disposable>();
    expectTypeOf(pool.snapshot).returns.toEqualTypeOf<PoolSnapshot>();
    expectTypeOf(pool.endpoints).toEqualTypeOf<readonly PoolEndpoint[]>();
    expectTypeOf(pool.close).returns.toEqualTypeOf<Promise<void>>();
    // execute infers the value of fn, sync or async.
    expectTypeOf(pool.execute(async () => 42)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(pool.execute((endpoint) => endpoint.url)).toEqualTypeOf<Promise<string>>();
    expectTypeOf<AttemptsExhaustedError['errors']>().toEqualTypeOf<readonly unknown[]>();
    void pool.close();
  });
});
