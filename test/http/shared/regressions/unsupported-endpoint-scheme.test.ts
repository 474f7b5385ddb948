import diagnostics from 'node:diagnostics_channel';
import { request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { isUnsupportedEndpointError, UnsupportedEndpointError } from '../../../../src/errors.js';
import {
  balancedInterceptor,
  createBalancedDispatcher,
  createProxyHandler,
} from '../../../../src/http/index.js';
import { Pool } from '../../../../src/pool/pool.js';
import type { PoolEndpoint } from '../../../../src/pool/types.js';
import type { PickContext, Selector } from '../../../../src/selectors/index.js';
import {
  failOnProcessProblems,
  makePool,
  namedBackend,
  send,
  startProxy,
} from '../../proxy-support.js';

// Security class: an endpoint URL that Pool accepts (`localhost:80` read as the scheme
// `localhost:`, `ftp://…`) crashed the process: the first request got a 500 and kept its
// lease, and the retry threw out of a process.nextTick callback.

failOnProcessProblems();

/** Picks the last endpoint on its first pick whatever it is told to exclude, then honours `exclude`. */
class StubbornLast implements Selector<PoolEndpoint> {
  #endpoints: readonly PoolEndpoint[] = [];
  #first = true;
  update(endpoints: readonly PoolEndpoint[]): void {
    this.#endpoints = endpoints;
  }
  pick(context?: PickContext<PoolEndpoint>): PoolEndpoint | undefined {
    if (this.#first) {
      this.#first = false;
      return this.#endpoints.at(-1);
    }
    return this.#endpoints.find((e) => !context?.exclude?.has(e.id));
  }
}

describe('endpoints the HTTP adapters cannot speak to', () => {
  it('are refused when the adapter is given the pool, naming them with credentials redacted', () => {
    for (const url of ['ftp://user:secret@127.0.0.1:21', 'localhost:80']) {
      const pool = new Pool({ endpoints: [url] });
      onTestFinished(() => pool.close());
      for (const make of [
        () => createProxyHandler(pool),
        () => createBalancedDispatcher(pool),
        () => balancedInterceptor(pool),
      ]) {
        let error: unknown;
        try {
          make();
        } catch (caught) {
          error = caught;
        }
        expect(error).toBeInstanceOf(UnsupportedEndpointError);
        expect(isUnsupportedEndpointError(error)).toBe(true);
        const message = (error as Error).message;
        expect(message).toMatch(
          /cannot send requests to endpoint ".*": its scheme ".*:" is not http: or https:$/,
        );
        expect(message).not.toContain('secret');
      }
    }
  });

  it('are never picked when they arrive later, and are reported on a diagnostics channel', async () => {
    const a = await namedBackend('a');
    const pool = makePool([a.url]);
    const { url } = await startProxy(pool);
    const reported: string[] = [];
    const onMessage = (message: unknown) => {
      reported.push((message as { error: Error }).error.message);
    };
    diagnostics.subscribe('switchyard:http:unsupported-endpoint', onMessage);
    onTestFinished(() => {
      diagnostics.unsubscribe('switchyard:http:unsupported-endpoint', onMessage);
    });
    pool.add('ftp://user:secret@127.0.0.1:21');
    pool.add('localhost:80');
    expect(reported).toHaveLength(2);
    expect(reported.join('\n')).not.toContain('secret');
    for (let i = 0; i < 6; i++) {
      const reply = await send(url);
      expect(reply.status).toBe(200);
      expect(reply.body).toBe('a');
    }
    for (const endpoint of pool.endpoints) expect(endpoint.inflight).toBe(0);
    const snapshot = pool.snapshot();
    expect(snapshot.endpoints.filter((e) => e.requests > 0).map((e) => e.url)).toEqual([a.url]);
  });

  it('make a failed try when a selector picks one anyway: lease released, next endpoint', async () => {
    const a = await namedBackend('a');
    const pool = makePool([a.url], { selector: new StubbornLast() });
    const { url } = await startProxy(pool);
    pool.add('localhost:80');
    const reply = await send(url, { method: 'POST', body: 'x' });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('a');
    expect(pool.snapshot().totals.inflight).toBe(0);
    expect(a.requests).toHaveLength(1);
  });

  it('are never picked by the balanced dispatcher either', async () => {
    const a = await namedBackend('a');
    const pool = makePool([a.url], { selector: new StubbornLast() });
    const dispatcher = createBalancedDispatcher(pool);
    onTestFinished(() => dispatcher.destroy());
    pool.add('ftp://127.0.0.1:21');
    const res = await request('http://service.internal/x', { dispatcher });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('a');
    const again = await request('http://service.internal/y', { dispatcher });
    expect(await again.body.text()).toBe('a');
    expect(pool.snapshot().totals.inflight).toBe(0);
  });
});
