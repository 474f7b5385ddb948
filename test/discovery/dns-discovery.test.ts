import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { DiscoveryError, DnsDiscovery, isDiscoveryError } from '../../src/discovery/index.js';
import { Pool } from '../../src/index.js';
import type { EndpointInput } from '../../src/pool/index.js';
import { Dnsmasq } from './dnsmasq.js';

const SRV = '_http._tcp.svc.test';
const servers: Dnsmasq[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function dnsmasq(records: string[]): Promise<Dnsmasq> {
  const server = await Dnsmasq.start(records);
  servers.push(server);
  return server;
}

function discovery(options: ConstructorParameters<typeof DnsDiscovery>[0]): DnsDiscovery {
  const d = new DnsDiscovery(options);
  onTestFinished(() => d.close());
  return d;
}

function pool(): Pool {
  const p = new Pool({ endpoints: [] });
  onTestFinished(() => p.close());
  return p;
}

/** Waits (bounded) until `check` holds. */
async function until(check: () => boolean, what: string, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A pool stand-in that counts setEndpoints calls and forwards them to a real pool. */
function counting(target: Pool) {
  const calls: EndpointInput[][] = [];
  return {
    calls,
    setEndpoints(endpoints: readonly EndpointInput[], options?: { drain?: boolean }) {
      calls.push([...endpoints]);
      target.setEndpoints(endpoints, options);
    },
  };
}

const view = (p: Pool) =>
  p.endpoints.map((e) => `${e.url} w${e.configuredWeight} t${e.priority}`).sort();

const BASE = [
  '--local-ttl=1',
  `--srv-host=${SRV},a.svc.test,8080,10,5`,
  `--srv-host=${SRV},b.svc.test,8081,10,0`,
  `--srv-host=${SRV},c.svc.test,8082,30,2`,
  '--host-record=a.svc.test,127.0.0.2',
  '--host-record=b.svc.test,127.0.0.3',
  '--host-record=c.svc.test,127.0.0.4,::1',
];

describe('DnsDiscovery against dnsmasq', () => {
  it('turns SRV records into endpoints: weight 0 → 1, priorities → tiers 0, 1, …', async () => {
    const dns = await dnsmasq(BASE);
    const p = pool();
    const d = discovery({ name: SRV, servers: [dns.address] });
    d.attach(p);
    await until(() => p.endpoints.length === 4, 'the first answer');
    expect(view(p)).toEqual([
      'http://127.0.0.2:8080 w5 t0',
      'http://127.0.0.3:8081 w1 t0',
      'http://127.0.0.4:8082 w2 t1',
      'http://[::1]:8082 w2 t1',
    ]);
    expect(p.get('http://127.0.0.2:8080')?.metadata).toEqual({ hostname: 'a.svc.test' });
    // A second pool attached later is filled at once from the last good set.
    const q = pool();
    d.attach(q);
    expect(view(q)).toEqual(view(p));
  });

  it('follows A and AAAA records with the given port and scheme', async () => {
    const dns = await dnsmasq([
      '--host-record=web.svc.test,127.0.0.5,60',
      '--host-record=web.svc.test,127.0.0.6,60',
      '--host-record=web.svc.test,::1,60',
    ]);
    const a = pool();
    const aaaa = pool();
    discovery({ name: 'web.svc.test', type: 'A', port: 9000, servers: [dns.address] }).attach(a);
    discovery({
      name: 'web.svc.test',
      type: 'AAAA',
      port: 9001,
      scheme: 'https',
      servers: [dns.address],
    }).attach(aaaa);
    await until(() => a.endpoints.length === 2 && aaaa.endpoints.length === 1, 'answers');
    expect(view(a)).toEqual(['http://127.0.0.5:9000 w1 t0', 'http://127.0.0.6:9000 w1 t0']);
    expect(view(aaaa)).toEqual(['https://[::1]:9001 w1 t0']);
  });

  it('honours the TTL within [minRefreshMs, maxRefreshMs]', async () => {
    // TTL 1 s under a 60 s ceiling: about one lookup a second.
    const dns = await dnsmasq([...BASE, '--log-queries']);
    const d = discovery({
      name: SRV,
      servers: [dns.address],
      minRefreshMs: 100,
      maxRefreshMs: 60_000,
    });
    d.attach(pool());
    const lookups = () => dns.log.split(`query[SRV] ${SRV}`).length - 1;
    await until(() => lookups() >= 3, 'three lookups');
    const started = Date.now();
    await until(() => lookups() >= 4, 'a fourth lookup');
    // Not a timing benchmark: a gap far from 1 s would mean the TTL was ignored.
    expect(Date.now() - started).toBeGreaterThan(300);
    // TTL 3600 s under a 200 ms ceiling: clamped to 200 ms.
    const long = await dnsmasq([
      '--log-queries',
      '--local-ttl=3600',
      `--srv-host=${SRV},a.svc.test,8080,1,1`,
      '--host-record=a.svc.test,127.0.0.2',
    ]);
    const e = discovery({
      name: SRV,
      servers: [long.address],
      minRefreshMs: 50,
      maxRefreshMs: 200,
    });
    e.attach(pool());
    await until(() => long.log.split(`query[SRV] ${SRV}`).length - 1 >= 5, 'five lookups', 5_000);
  });

  it('follows a change; an unchanged answer costs no setEndpoints; survivors keep counters', async () => {
    const dns = await dnsmasq([...BASE, '--log-queries']);
    const p = pool();
    const spy = counting(p);
    const d = discovery({ name: SRV, servers: [dns.address], minRefreshMs: 50, maxRefreshMs: 200 });
    d.attach(spy);
    await until(() => p.endpoints.length === 4, 'the first answer');
    const lookups = () => dns.log.split(`query[SRV] ${SRV}`).length - 1;
    await until(() => lookups() >= 4, 'repeated lookups');
    expect(spy.calls).toHaveLength(1);
    // Traffic on a survivor, then b leaves, d joins and a's weight changes.
    const lease = p.acquire({ prefer: 'http://127.0.0.2:8080' });
    expect(lease.endpoint.id).toBe('http://127.0.0.2:8080');
    lease.release({ ok: true });
    await dns.restart([
      '--local-ttl=1',
      `--srv-host=${SRV},a.svc.test,8080,10,7`,
      `--srv-host=${SRV},c.svc.test,8082,30,2`,
      `--srv-host=${SRV},d.svc.test,8083,30,1`,
      '--host-record=a.svc.test,127.0.0.2',
      '--host-record=c.svc.test,127.0.0.4,::1',
      '--host-record=d.svc.test,127.0.0.7',
    ]);
    await until(() => p.get('http://127.0.0.7:8083') !== undefined, 'the change', 3_000);
    expect(view(p)).toEqual([
      'http://127.0.0.2:8080 w7 t0',
      'http://127.0.0.4:8082 w2 t1',
      'http://127.0.0.7:8083 w1 t1',
      'http://[::1]:8082 w2 t1',
    ]);
    const a = p.snapshot().endpoints.find((e) => e.id === 'http://127.0.0.2:8080')!;
    expect(a.requests).toBe(1);
    expect(a.successes).toBe(1);
    expect(spy.calls).toHaveLength(2);
  });

  it('keeps the set while the server is down, reports it, and follows again when it returns', async () => {
    const dns = await dnsmasq(BASE);
    const p = pool();
    const d = discovery({
      name: SRV,
      servers: [dns.address],
      minRefreshMs: 50,
      maxRefreshMs: 200,
      timeoutMs: 150,
    });
    const errors: DiscoveryError[] = [];
    d.onError((e) => errors.push(e));
    d.attach(p);
    await until(() => p.endpoints.length === 4, 'the first answer');
    const before = view(p);
    await dns.stop();
    await until(() => errors.length >= 3, 'three failures reported');
    expect(view(p)).toEqual(before);
    expect(errors.every((e) => isDiscoveryError(e) && e.code === 'ERR_DISCOVERY')).toBe(true);
    expect(errors[0]!.reason).toBe('timeout');
    await dns.restart([
      '--local-ttl=1',
      `--srv-host=${SRV},a.svc.test,8080,10,5`,
      '--host-record=a.svc.test,127.0.0.2',
    ]);
    await until(
      () => p.endpoints.filter((e) => e.state !== 'draining').length === 1,
      'the new set',
      5_000,
    );
    expect(view(p)).toEqual(['http://127.0.0.2:8080 w5 t0']);
  });

  it('NXDOMAIN keeps the last good set by default, and empties it with emptyOnNxdomain', async () => {
    const dns = await dnsmasq(BASE);
    const keep = pool();
    const empty = pool();
    const options = { name: SRV, servers: [dns.address], minRefreshMs: 50, maxRefreshMs: 100 };
    const d1 = discovery(options);
    const d2 = discovery({ ...options, emptyOnNxdomain: true });
    const reasons: string[] = [];
    d1.onError((e) => reasons.push(e.reason));
    d1.attach(keep);
    d2.attach(empty);
    await until(() => keep.endpoints.length === 4 && empty.endpoints.length === 4, 'answers');
    await dns.restart(['--host-record=a.svc.test,127.0.0.2']);
    await until(() => empty.endpoints.length === 0, 'the empty set');
    await until(() => reasons.includes('nxdomain'), 'an NXDOMAIN report');
    expect(keep.endpoints).toHaveLength(4);
  });

  it('an empty answer, REFUSED and an SRV target without address are reported', async () => {
    const dns = await dnsmasq([
      // Name exists (it has an A record) but no SRV: NOERROR with no answer.
      '--host-record=empty.svc.test,127.0.0.2',
      `--srv-host=${SRV},a.svc.test,8080,1,1`,
      `--srv-host=${SRV},ghost.svc.test,8081,1,1`,
      '--host-record=a.svc.test,127.0.0.2',
    ]);
    const seen = async (name: string) => {
      const d = discovery({ name, servers: [dns.address] });
      const errors: DiscoveryError[] = [];
      d.onError((e) => errors.push(e));
      const p = pool();
      d.attach(p);
      await until(() => errors.length > 0, `an error for ${name}`);
      return { error: errors[0]!, pool: p };
    };
    expect((await seen('empty.svc.test')).error.reason).toBe('empty');
    const refused = await seen('outside.example');
    expect(refused.error).toMatchObject({ reason: 'refused', rcode: 5 });
    const ghost = await seen(SRV);
    expect(ghost.error).toMatchObject({ reason: 'empty', hostname: 'ghost.svc.test' });
    expect(view(ghost.pool)).toEqual(['http://127.0.0.2:8080 w1 t0']);
  });

  it('asks again over TCP when the UDP answer is truncated', async () => {
    const targets = Array.from({ length: 120 }, (_, i) => i);
    const dns = await dnsmasq([
      ...targets.map((i) => `--srv-host=${SRV},t${i}.svc.test,${8000 + i},1,1`),
      ...targets.map((i) => `--host-record=t${i}.svc.test,127.0.1.${i}`),
    ]);
    const p = pool();
    discovery({ name: SRV, servers: [dns.address] }).attach(p);
    await until(() => p.endpoints.length === 120, 'all 120 endpoints');
  });

  it('close() cancels the lookup in flight and leaves no socket or timer behind', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
    onTestFinished(() => new Promise<void>((r) => silent.close(() => r())));
    let asked = 0;
    silent.on('message', () => asked++);
    const before = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
    const d = new DnsDiscovery({
      name: SRV,
      servers: [`127.0.0.1:${silent.address().port}`],
      timeoutMs: 60_000,
    });
    const errors: unknown[] = [];
    d.onError((e) => errors.push(e));
    d.attach(pool());
    await until(() => asked === 1, 'the query');
    await d.close();
    await d.close(); // idempotent
    await new Promise((r) => setTimeout(r, 50));
    const after = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
    expect(after.filter((r) => r === 'UDPWrap').length).toBe(
      before.filter((r) => r === 'UDPWrap').length,
    );
    expect(after.filter((r) => r === 'Timeout').length).toBeLessThanOrEqual(
      before.filter((r) => r === 'Timeout').length,
    );
    expect(errors).toEqual([]);
    expect(() => d.attach(pool())).toThrow(/closed/);
  });

  it('detaching a pool stops its updates; several pools share one discovery', async () => {
    const dns = await dnsmasq(BASE);
    const p = pool();
    const q = pool();
    const d = discovery({ name: SRV, servers: [dns.address], minRefreshMs: 50, maxRefreshMs: 100 });
    const sp = d.attach(p);
    using _ = d.attach(q);
    await until(() => p.endpoints.length === 4 && q.endpoints.length === 4, 'both pools');
    sp[Symbol.dispose]();
    await dns.restart([
      '--local-ttl=1',
      `--srv-host=${SRV},a.svc.test,8080,1,1`,
      '--host-record=a.svc.test,127.0.0.2',
    ]);
    await until(() => q.endpoints.length === 1, 'the attached pool to follow');
    expect(p.endpoints).toHaveLength(4);
  });
});

describe('DnsDiscovery answers only what it asked', () => {
  /** A DNS server by hand: answers each query with `reply(query)` packets. */
  async function fake(
    reply: (query: Buffer, send: (bytes: Buffer, fromOther?: boolean) => void) => void,
    host = '127.0.0.1',
  ) {
    const family = host.includes(':') ? 'udp6' : 'udp4';
    const server = createSocket(family);
    const other = createSocket(family);
    await new Promise<void>((r) => server.bind(0, host, r));
    await new Promise<void>((r) => other.bind(0, host, r));
    server.on('message', (query, remote) => {
      reply(query, (bytes, fromOther) =>
        (fromOther ? other : server).send(bytes, remote.port, remote.address),
      );
    });
    onTestFinished(async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => other.close(() => r()));
    });
    return host.includes(':')
      ? `[0:0:0:0:0:0:0:1]:${server.address().port}` // written long on purpose
      : `${host}:${server.address().port}`;
  }

  /** An answer to `query` (its id and question) with one A record. */
  function answer(query: Buffer, address: number[], options: { id?: number; rcode?: number } = {}) {
    const qend = query.indexOf(0, 12) + 5;
    const header = Buffer.from(query.subarray(0, 12));
    header.writeUInt16BE(options.id ?? query.readUInt16BE(0), 0);
    header.writeUInt16BE(0x8180 | (options.rcode ?? 0), 2);
    header.writeUInt16BE(options.rcode ? 0 : 1, 6);
    header.writeUInt16BE(0, 10);
    const rr = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, ...address]);
    return Buffer.concat([header, query.subarray(12, qend), options.rcode ? Buffer.alloc(0) : rr]);
  }

  it('ignores a wrong id, an answer from another port and an answer to another question', async () => {
    const address = await fake((query, send) => {
      send(answer(query, [127, 0, 0, 66], { id: query.readUInt16BE(0) ^ 1 }));
      send(answer(query, [127, 0, 0, 67]), true);
      const other = Buffer.from(query);
      other[13] = 0x78; // another question name (x for w)
      send(answer(other, [127, 0, 0, 68]));
      send(answer(query, [127, 0, 0, 9]));
    });
    const p = pool();
    discovery({ name: 'web.svc.test', type: 'A', port: 80, servers: [address] }).attach(p);
    await until(() => p.endpoints.length > 0, 'an answer');
    expect(p.endpoints.map((e) => e.url)).toEqual(['http://127.0.0.9']);
  });

  it('SERVFAIL moves on to the next server; a malformed answer is reported', async () => {
    const failing = await fake((query, send) => send(answer(query, [], { rcode: 2 })));
    const good = await fake((query, send) => send(answer(query, [127, 0, 0, 10])));
    const p = pool();
    discovery({ name: 'web.svc.test', type: 'A', port: 81, servers: [failing, good] }).attach(p);
    await until(() => p.endpoints.length > 0, 'an answer from the second server');
    expect(p.endpoints[0]!.url).toBe('http://127.0.0.10:81');

    const errors: DiscoveryError[] = [];
    const servfail = discovery({ name: 'web.svc.test', type: 'A', port: 81, servers: [failing] });
    servfail.onError((e) => errors.push(e));
    servfail.attach(pool());
    const broken = await fake((query, send) =>
      send(
        Buffer.concat([
          query.subarray(0, 2),
          Buffer.from([0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xc0, 12]),
        ]),
      ),
    );
    const malformed = discovery({ name: 'web.svc.test', type: 'A', port: 81, servers: [broken] });
    malformed.onError((e) => errors.push(e));
    malformed.attach(pool());
    await until(
      () =>
        errors.some((e) => e.reason === 'malformed') && errors.some((e) => e.reason === 'servfail'),
      'both reports',
    );
    expect(errors.find((e) => e.reason === 'servfail')!.rcode).toBe(2);
  });
  it('talks to an IPv6 server, however its address is written', async () => {
    const address = await fake((query, send) => send(answer(query, [127, 0, 0, 12])), '::1');
    const p = pool();
    discovery({ name: 'web.svc.test', type: 'A', port: 84, servers: [address] }).attach(p);
    await until(() => p.endpoints.length > 0, 'an answer over IPv6');
    expect(p.endpoints[0]!.url).toBe('http://127.0.0.12:84');
  });

  it('asks again without EDNS when the server answers FORMERR to it', async () => {
    const address = await fake((query, send) => {
      const edns = query.readUInt16BE(10) === 1;
      const plain = Buffer.from(query.subarray(0, query.length - (edns ? 11 : 0)));
      plain.writeUInt16BE(0, 10);
      send(edns ? answer(plain, [], { rcode: 1 }) : answer(plain, [127, 0, 0, 11]));
    });
    const p = pool();
    discovery({ name: 'web.svc.test', type: 'A', port: 82, servers: [address] }).attach(p);
    await until(() => p.endpoints.length > 0, 'an answer without EDNS');
    expect(p.endpoints[0]!.url).toBe('http://127.0.0.11:82');
  });

  it('backs off while lookups fail: minRefreshMs doubling up to maxRefreshMs', async () => {
    let asked = 0;
    const address = await fake(() => asked++);
    const d = discovery({
      name: 'web.svc.test',
      type: 'A',
      port: 83,
      servers: [address],
      minRefreshMs: 40,
      maxRefreshMs: 320,
      timeoutMs: 20,
    });
    const errors: string[] = [];
    d.onError((e) => errors.push(e.reason));
    d.attach(pool());
    // Lookups start at 0, 60, 140, 240, 420, 760, 1100, …: 6 or 7 in 1.2 s (without the
    // backoff, one every 60 ms would make 20).
    await new Promise((r) => setTimeout(r, 1_200));
    await d.close();
    expect(asked).toBeGreaterThanOrEqual(4);
    expect(asked).toBeLessThanOrEqual(9);
    expect(new Set(errors)).toEqual(new Set(['timeout']));
    // Every failed lookup is heard (one may still have been in flight at close()).
    expect(errors.length).toBeGreaterThanOrEqual(asked - 1);
  });
});

describe('DnsDiscovery options', () => {
  const servers = ['127.0.0.1:5353'];
  it('rejects bad input at construction, naming the option and the value', () => {
    expect(
      () => new DnsDiscovery({ name: SRV, servers, minRefreshMs: 5_000, maxRefreshMs: 1_000 }),
    ).toThrow(
      new RangeError(
        'DnsDiscovery: minRefreshMs must be <= maxRefreshMs, got minRefreshMs 5000 and maxRefreshMs 1000',
      ),
    );
    expect(() => new DnsDiscovery({ name: 'web.svc.test', type: 'A', servers })).toThrow(
      /port is required/,
    );
    expect(() => new DnsDiscovery({ name: SRV, port: 80, servers })).toThrow(
      /port is for A and AAAA/,
    );
    expect(() => new DnsDiscovery({ name: 'x', type: 'A', port: 70_000, servers })).toThrow(
      RangeError,
    );
    expect(() => new DnsDiscovery({ name: SRV, type: 'MX' as 'A', servers })).toThrow(/"MX"/);
    expect(() => new DnsDiscovery({ name: 'a..b', servers })).toThrow(/empty label/);
    expect(() => new DnsDiscovery({ name: SRV, servers: ['dns.example'] })).toThrow(/IP address/);
    expect(() => new DnsDiscovery({ name: SRV, servers: ['127.0.0.1:0'] })).toThrow(RangeError);
    expect(() => new DnsDiscovery({ name: SRV, servers: [] })).toThrow(/non-empty/);
    expect(() => new DnsDiscovery({ name: SRV, servers, timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => new DnsDiscovery({ name: SRV, servers, scheme: 'ht tp' })).toThrow(/scheme/);
    expect(
      () => new DnsDiscovery({ name: SRV, servers, emptyOnNxdomain: 'yes' as unknown as boolean }),
    ).toThrow(/emptyOnNxdomain/);
    expect(() => new DnsDiscovery({ name: SRV, servers, ttl: 5 } as never)).toThrow(
      /unknown option "ttl"/,
    );
    expect(() => new DnsDiscovery(undefined as never)).toThrow(TypeError);
    expect(() => new DnsDiscovery({ name: SRV, servers }).attach({} as never)).toThrow(
      /setEndpoints/,
    );
  });

  it('accepts IPv6 servers and reads the system resolvers when servers is not given', () => {
    expect(
      () => new DnsDiscovery({ name: SRV, servers: ['::1', '[::1]:5353', '127.0.0.1'] }),
    ).not.toThrow();
    // Reading the system's list sends nothing; no lookup starts before attach().
    expect(() => new DnsDiscovery({ name: SRV })).not.toThrow();
  });

  it('DiscoveryError is a coded SwitchyardError', () => {
    const e = new DiscoveryError('timeout', 'x', { name: 'a' });
    expect(e).toMatchObject({
      code: 'ERR_DISCOVERY',
      reason: 'timeout',
      hostname: 'a',
      name: 'DiscoveryError',
    });
    expect(isDiscoveryError(e)).toBe(true);
  });
});
