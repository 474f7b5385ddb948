import { describe, expect, it } from 'vitest';
import { Affinity, endpointToken } from '../../../../src/http/proxy/affinity.js';
import { ProxyTrust } from '../../../../src/http/proxy/trust-proxy.js';
import type { PoolEndpoint } from '../../../../src/pool/types.js';
import type { PickContext, Selector } from '../../../../src/selectors/index.js';
import {
  failOnProcessProblems,
  makePool,
  namedBackend,
  send,
  startProxy,
} from '../../proxy-support.js';

// Security class: with `trustProxy: true`, `affinity: { by: 'ip' }` keyed on the leftmost
// X-Forwarded-For address, which the client writes itself when the front proxy appends;
// and the affinity cookie was an unkeyed hash of the endpoint id (a URL by default), so
// internal addresses could be guessed offline.

failOnProcessProblems();

/** Picks the first endpoint and records the hash key of every pick. */
class KeyRecorder implements Selector<PoolEndpoint> {
  readonly keys: (string | undefined)[] = [];
  #endpoints: readonly PoolEndpoint[] = [];
  update(endpoints: readonly PoolEndpoint[]): void {
    this.#endpoints = endpoints;
  }
  pick(context?: PickContext<PoolEndpoint>): PoolEndpoint | undefined {
    this.keys.push(context?.key);
    return this.#endpoints[0];
  }
}

describe('trustProxy', () => {
  it('takes the forms of Express’s trust proxy', () => {
    const none = new ProxyTrust(false);
    expect(none.trusts('127.0.0.1', 0)).toBe(false);
    expect(none.client('127.0.0.1', '1.1.1.1')).toBe('127.0.0.1');

    const all = new ProxyTrust(true);
    expect(all.client('127.0.0.1', 'forged, 2.2.2.2')).toBe('forged');

    const hops = new ProxyTrust(2);
    expect(hops.trusts('9.9.9.9', 0)).toBe(true);
    expect(hops.trusts('9.9.9.9', 2)).toBe(false);
    // peer (hop 0) and 3.3.3.3 (hop 1) are trusted proxies; 2.2.2.2 is the client.
    expect(hops.client('10.0.0.1', 'forged, 2.2.2.2, 3.3.3.3')).toBe('2.2.2.2');

    const list = new ProxyTrust(['loopback', '10.0.0.0/8', 'fd00::/8']);
    expect(list.trusts('127.0.0.1', 0)).toBe(true);
    expect(list.trusts('::ffff:10.1.2.3', 0)).toBe(true);
    expect(list.trusts('fd12::1', 0)).toBe(true);
    expect(list.trusts('11.0.0.1', 0)).toBe(false);
    expect(list.client('127.0.0.1', 'forged, 6.6.6.6, 10.0.0.5')).toBe('6.6.6.6');
    expect(list.client('127.0.0.1', '10.0.0.9, 10.0.0.5')).toBe('10.0.0.9');
    expect(list.client('11.0.0.1', 'forged')).toBe('11.0.0.1');

    expect(new ProxyTrust('127.0.0.1, ::1').trusts('::1', 0)).toBe(true);
    const fn = new ProxyTrust((address: string, hop: number) => address === '10.0.0.1' && hop < 1);
    expect(fn.trusts('10.0.0.1', 0)).toBe(true);
    expect(fn.trusts('10.0.0.1', 1)).toBe(false);

    expect(() => new ProxyTrust(['10.0.0.0/33'])).toThrow(
      /^trustProxy must list IP addresses or CIDRs, got "10.0.0.0\/33"/,
    );
    expect(() => new ProxyTrust(1.5)).toThrow(/hop count/);
  });

  it('by-ip affinity keys on the rightmost address that is not a trusted proxy', async () => {
    const a = await namedBackend('a');
    const selector = new KeyRecorder();
    const { url } = await startProxy(makePool([a.url], { selector }), {
      affinity: { by: 'ip' },
      trustProxy: ['loopback', '10.0.0.0/8'],
    });
    await send(url, { headers: { 'x-forwarded-for': 'forged-by-client, 6.6.6.6, 10.0.0.5' } });
    await send(url, { headers: { 'x-forwarded-for': 'another-forgery, 6.6.6.6, 10.0.0.5' } });
    await send(url);
    expect(selector.keys).toEqual(['6.6.6.6', '6.6.6.6', '127.0.0.1']);
    const hop = new KeyRecorder();
    const byHops = await startProxy(makePool([a.url], { selector: hop }), {
      affinity: { by: 'ip' },
      trustProxy: 1,
    });
    await send(byHops.url, { headers: { 'x-forwarded-for': 'forged, 7.7.7.7' } });
    expect(hop.keys).toEqual(['7.7.7.7']);
  });
});

describe('the affinity cookie', () => {
  it('is an HMAC of the endpoint id under the secret: a fleet with one secret agrees', () => {
    const secret = 'fleet-secret-0123456789';
    const one = new Affinity({ cookie: 'sy', secret });
    const two = new Affinity({ cookie: 'sy', secret });
    const id = 'http://10.0.0.1:8080';
    expect(one.tokenFor(id)).toBe(two.tokenFor(id));
    expect(one.tokenFor(id)).toBe(endpointToken(id, secret));
    expect(one.tokenFor(id)).toMatch(/^[0-9a-f]{16}$/);
    expect(new Affinity({ cookie: 'sy', secret: 'other-secret-0123456789' }).tokenFor(id)).not.toBe(
      one.tokenFor(id),
    );
  });

  it('cannot be computed from the address without the secret', () => {
    const id = 'http://10.0.0.1:8080';
    // Each proxy without a secret draws its own.
    expect(new Affinity({ cookie: 'sy' }).tokenFor(id)).not.toBe(
      new Affinity({ cookie: 'sy' }).tokenFor(id),
    );
  });

  it('rejects a short or non-string secret, and a secret without a cookie', () => {
    expect(() => new Affinity({ cookie: 'sy', secret: 'short' })).toThrow(
      /^affinity\.secret must be at least 16 characters, got 5$/,
    );
    expect(() => new Affinity({ cookie: 'sy', secret: 5 as never })).toThrow(/affinity\.secret/);
    expect(() => new Affinity({ by: 'ip', secret: 'x'.repeat(20) } as never)).toThrow(
      /exactly one of/,
    );
  });
});
