import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type Discovery,
  DiscoveryError,
  type DnsDiscovery,
  Membership,
} from '../../src/discovery/index.js';
import { Pool } from '../../src/index.js';
import type { EndpointInput } from '../../src/pool/index.js';

function recorder() {
  const calls: { endpoints: EndpointInput[]; drain: boolean | undefined }[] = [];
  return {
    calls,
    setEndpoints(endpoints: readonly EndpointInput[], options?: { drain?: boolean }) {
      calls.push({ endpoints: [...endpoints], drain: options?.drain });
    },
  };
}

describe('Membership', () => {
  it('applies a set only when it changed, in any order, and drains by default', () => {
    const m = new Membership();
    const target = recorder();
    m.attach(target);
    expect(m.publish(['http://127.0.0.1:1', { url: 'http://127.0.0.1:2', weight: 2 }])).toBe(true);
    expect(m.publish([{ url: 'http://127.0.0.1:2', weight: 2 }, 'http://127.0.0.1:1'])).toBe(false);
    expect(m.publish([{ url: 'http://127.0.0.1:2', weight: 3 }, 'http://127.0.0.1:1'])).toBe(true);
    expect(target.calls.map((c) => c.drain)).toEqual([true, true]);
    expect(new Membership({ drain: false }).publish([])).toBe(true);
  });

  it('gives a pool attached later the last good set at once; detaching stops updates', () => {
    const m = new Membership();
    m.publish(['http://127.0.0.1:1']);
    const late = recorder();
    const subscription = m.attach(late);
    expect(late.calls).toHaveLength(1);
    m.attach(late); // the same pool twice is one attachment
    expect(m.size).toBe(1);
    subscription.dispose();
    subscription.dispose();
    m.publish(['http://127.0.0.1:2']);
    expect(late.calls).toHaveLength(1);
  });

  it('reports a set the pool refuses, and drops a closed pool', async () => {
    const m = new Membership();
    const errors: DiscoveryError[] = [];
    m.onError((e) => errors.push(e));
    const pool = new Pool({ endpoints: [] });
    m.attach(pool);
    m.publish([{ url: 'http://127.0.0.1:1', weight: -1 }]);
    expect(errors[0]).toMatchObject({ code: 'ERR_DISCOVERY', reason: 'apply' });
    expect(pool.endpoints).toEqual([]);
    await pool.close();
    m.publish(['http://127.0.0.1:3']);
    expect(m.size).toBe(0);
  });

  it('after close(): no updates, no errors, no attach', () => {
    const m = new Membership();
    const errors: unknown[] = [];
    m.onError((e) => errors.push(e));
    const target = recorder();
    m.attach(target);
    m.close();
    m.close();
    expect(m.publish(['http://127.0.0.1:1'])).toBe(false);
    m.fail(new DiscoveryError('timeout', 'x'));
    expect(errors).toEqual([]);
    expect(target.calls).toEqual([]);
    expect(() => m.attach(recorder())).toThrow(/closed/);
    expect(() => new Membership({ drain: 1 } as never)).toThrow(/drain/);
  });

  it('DnsDiscovery is a Discovery', () => {
    expectTypeOf<DnsDiscovery>().toMatchTypeOf<Discovery>();
    expectTypeOf<Pool>().toMatchTypeOf<Parameters<Discovery['attach']>[0]>();
  });
});
