import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { describe, expectTypeOf, it } from 'vitest';
import {
  createProxyHandler,
  type ProxyErrorHandler,
  type ProxyHandler,
  type ProxyOptions,
} from '../../../src/http/index.js';
import type { PoolLike } from '../../../src/index.js';
import type { Pool } from '../../../src/pool/pool.js';

describe('public types', () => {
  it('createProxyHandler takes a Pool and options and returns a ProxyHandler', () => {
    expectTypeOf(createProxyHandler).parameter(0).toEqualTypeOf<PoolLike>();
    expectTypeOf(createProxyHandler).parameter(1).toEqualTypeOf<ProxyOptions | undefined>();
    expectTypeOf(createProxyHandler).returns.toEqualTypeOf<ProxyHandler>();
    expectTypeOf<Pool>().toExtend<PoolLike>();
  });

  it('a ProxyHandler is a Node request listener, a Connect middleware and an upgrade listener', () => {
    expectTypeOf<ProxyHandler>().toExtend<http.RequestListener>();
    expectTypeOf<ProxyHandler>().toExtend<
      (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void
    >();
    expectTypeOf<ProxyHandler['upgrade']>().toExtend<
      (req: IncomingMessage, socket: Duplex, head: Buffer) => void
    >();
    expectTypeOf<ProxyHandler['close']>().returns.toEqualTypeOf<Promise<void>>();
  });

  it('onError receives an Error, the request and the response', () => {
    expectTypeOf<ProxyErrorHandler>().parameters.toEqualTypeOf<
      [Error, IncomingMessage, ServerResponse]
    >();
  });
});
