import type { Dispatcher } from 'undici';
import { describe, expectTypeOf, it } from 'vitest';
import {
  type BalancedDispatcher,
  type BalancedDispatcherOptions,
  type BalancedInterceptorOptions,
  balancedInterceptor,
  createBalancedDispatcher,
} from '../../../src/http/index.js';
import type { PoolLike } from '../../../src/index.js';
import type { Pool } from '../../../src/pool/pool.js';

describe('public types of the balanced dispatcher', () => {
  it('createBalancedDispatcher takes a pool and options and returns an undici Dispatcher', () => {
    expectTypeOf(createBalancedDispatcher).parameter(0).toEqualTypeOf<PoolLike>();
    expectTypeOf(createBalancedDispatcher)
      .parameter(1)
      .toEqualTypeOf<BalancedDispatcherOptions | undefined>();
    expectTypeOf(createBalancedDispatcher).returns.toEqualTypeOf<BalancedDispatcher>();
    expectTypeOf<BalancedDispatcher>().toExtend<Dispatcher>();
    expectTypeOf<Pool>().toExtend<PoolLike>();
  });

  it('balancedInterceptor returns an interceptor for dispatcher.compose', () => {
    expectTypeOf(balancedInterceptor).parameter(0).toEqualTypeOf<PoolLike>();
    expectTypeOf(balancedInterceptor)
      .parameter(1)
      .toEqualTypeOf<BalancedInterceptorOptions | undefined>();
    expectTypeOf(
      balancedInterceptor,
    ).returns.toEqualTypeOf<Dispatcher.DispatcherComposeInterceptor>();
    expectTypeOf<Pool>().toExtend<PoolLike>();
  });

  it('the key option sees the dispatch options', () => {
    expectTypeOf<NonNullable<BalancedDispatcherOptions['key']>>()
      .parameter(0)
      .toEqualTypeOf<Dispatcher.DispatchOptions>();
  });
});
