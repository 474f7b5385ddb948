import { describe, expect, it } from 'vitest';
import { eventually, failOnProcessProblems, makePool, startProxy } from '../../proxy-support.js';
import { readText, upgradeBackend, upgradeRequest } from '../upgrade-support.js';

// Bug: an endpoint refusing an upgrade with `503` (or `429`) and a `Retry-After` was not
// ejected for that time, as it is for an ordinary request: `proxy.upgrade` released its
// lease without the delay, whether it retried elsewhere or relayed the refusal.

failOnProcessProblems();

describe('an upgrade refused with Retry-After ejects the endpoint for that time', () => {
  it('retries a 503 refusal on another endpoint, honouring its Retry-After', async () => {
    const a = await upgradeBackend('a', { refuse: 503, refuseHeaders: { 'retry-after': '30' } });
    const b = await upgradeBackend('b');
    const pool = makePool([a.url, b.url]);
    const { url } = await startProxy(pool);
    const { res, socket } = await upgradeRequest(url);
    expect(res.statusCode).toBe(101);
    expect(res.headers['x-backend']).toBe('b');
    expect(pool.get(a.url)?.state).toBe('ejected');
    socket!.destroy();
  });

  it('relays a 503 refusal on the last try, and still honours its Retry-After', async () => {
    const a = await upgradeBackend('a', { refuse: 503, refuseHeaders: { 'retry-after': '30' } });
    // One endpoint of one: only a 100 % ejection cap lets a Retry-After take it out.
    const pool = makePool([a.url], {
      panicThreshold: 0,
      outlierDetection: { maxEjectionPercent: 100 },
    });
    const { url } = await startProxy(pool);
    const { res } = await upgradeRequest(url);
    expect(res.statusCode).toBe(503);
    expect(await readText(res)).toBe('refused');
    await eventually(() => pool.get(a.url)?.inflight === 0);
    expect(pool.get(a.url)?.state).toBe('ejected');
  });
});
