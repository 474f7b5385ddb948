// The pool counts a retry whoever makes it (SPEC §7): the proxy and the balanced dispatcher
// mark every try after the first, so the dashboard and `switchyard_retries_total` see the
// failovers of proxied and outbound traffic, not only those of `pool.execute`.
import { request } from 'undici';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createBalancedDispatcher } from '../../../../src/http/index.js';
import {
  FirstAvailable,
  failOnProcessProblems,
  makePool,
  namedBackend,
  refusedUrl,
  send,
  startProxy,
} from '../../proxy-support.js';

failOnProcessProblems();

function retriesOf(pool: ReturnType<typeof makePool>): Record<string, number> {
  return Object.fromEntries(pool.snapshot().endpoints.map((e) => [e.id, e.retries]));
}

describe('retries are counted by the pool', () => {
  it('the proxy: one retry per failover, on the endpoint that took the retry', async () => {
    const dead = await refusedUrl();
    const b = await namedBackend('b');
    const pool = makePool([dead, b.url], { selector: new FirstAvailable() });
    const { url } = await startProxy(pool);
    for (let i = 0; i < 3; i++) expect((await send(url)).body).toBe('b');
    expect(pool.snapshot().totals.retries).toBe(3);
    expect(retriesOf(pool)).toEqual({ [dead]: 0, [b.url]: 3 });
  });

  it('the proxy: a first try that succeeds is no retry', async () => {
    const b = await namedBackend('b');
    const pool = makePool([b.url]);
    const { url } = await startProxy(pool);
    for (let i = 0; i < 3; i++) expect((await send(url)).status).toBe(200);
    expect(pool.snapshot().totals.retries).toBe(0);
  });

  it('the balanced dispatcher: one retry per failover', async () => {
    const dead = await refusedUrl();
    const b = await namedBackend('b');
    const pool = makePool([dead, b.url], { selector: new FirstAvailable() });
    const dispatcher = createBalancedDispatcher(pool);
    onTestFinished(() => dispatcher.close());
    for (let i = 0; i < 2; i++) {
      const res = await request('http://users.internal/', { dispatcher });
      expect(await res.body.text()).toBe('b');
    }
    expect(pool.snapshot().totals.retries).toBe(2);
  });
});
