import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  DnsFormatError,
  decodeResponse,
  encodeQuery,
  nameLabels,
  recordsFor,
} from '../../src/discovery/dns-wire.js';

/** Builds a response packet by hand: header, one question, answers as raw bytes. */
function packet(options: {
  id?: number;
  flags?: number;
  question?: number[];
  answers?: number[][];
}): Uint8Array {
  const question = options.question ?? [];
  const answers = options.answers ?? [];
  const header = [
    (options.id ?? 0x1234) >> 8,
    (options.id ?? 0x1234) & 0xff,
    (options.flags ?? 0x8180) >> 8,
    (options.flags ?? 0x8180) & 0xff,
    0,
    question.length > 0 ? 1 : 0,
    0,
    answers.length,
    0,
    0,
    0,
    0,
  ];
  return Uint8Array.from([...header, ...question, ...answers.flat()]);
}

const name = (text: string) => [
  ...text.split('.').flatMap((l) => [l.length, ...[...l].map((c) => c.charCodeAt(0))]),
  0,
];
const u16 = (n: number) => [n >> 8, n & 0xff];
const u32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const rr = (owner: number[], type: number, ttl: number, data: number[]) => [
  ...owner,
  ...u16(type),
  ...u16(1),
  ...u32(ttl),
  ...u16(data.length),
  ...data,
];
const PTR_Q = [0xc0, 12]; // points at the question's name

describe('DNS wire format', () => {
  it('encodes a query with RD, one question and an EDNS(0) OPT record', () => {
    const q = encodeQuery(0xbeef, '_http._tcp.Svc.Test.', 'SRV');
    expect([...q.slice(0, 12)]).toEqual([0xbe, 0xef, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    const qname = name('_http._tcp.svc.test');
    expect([...q.slice(12, 12 + qname.length)]).toEqual(qname);
    expect([...q.slice(12 + qname.length, 16 + qname.length)]).toEqual([0, 33, 0, 1]);
    expect([...q.slice(16 + qname.length)]).toEqual([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
  });

  it('rejects names that cannot go on the wire', () => {
    expect(() => nameLabels('')).toThrow(TypeError);
    expect(() => nameLabels('a..b')).toThrow(/empty label/);
    expect(() => nameLabels(`${'a'.repeat(64)}.test`)).toThrow(/63/);
    expect(() => nameLabels(`${'abcdefgh.'.repeat(30)}test`)).toThrow(/253/);
    expect(() => nameLabels('a b.test')).toThrow(/printable/);
    expect(nameLabels('A.Test.')).toEqual(['a', 'test']);
  });

  it('decodes A, AAAA, SRV and CNAME answers with TTLs and compressed names', () => {
    const q = [...name('svc.test'), ...u16(33), ...u16(1)];
    const bytes = packet({
      question: q,
      answers: [
        rr(PTR_Q, 33, 30, [...u16(10), ...u16(5), ...u16(8080), ...name('a')]),
        rr(PTR_Q, 33, 20, [...u16(20), ...u16(0), ...u16(8081), 1, 98, 0xc0, 12]),
        rr(name('a'), 1, 7, [127, 0, 0, 2]),
        rr(PTR_Q, 28, 9, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        rr(name('alias.test'), 5, 4, PTR_Q),
        rr(PTR_Q, 16, 1, [3, 97, 98, 99]), // TXT: skipped
      ],
    });
    const r = decodeResponse(bytes);
    expect(r).toMatchObject({ id: 0x1234, response: true, truncated: false, rcode: 0 });
    expect(r.question).toEqual({ name: 'svc.test', type: 33 });
    expect(r.answers).toEqual([
      { type: 'SRV', name: 'svc.test', ttl: 30, priority: 10, weight: 5, port: 8080, target: 'a' },
      {
        type: 'SRV',
        name: 'svc.test',
        ttl: 20,
        priority: 20,
        weight: 0,
        port: 8081,
        target: 'b.svc.test',
      },
      { type: 'A', name: 'a', ttl: 7, address: '127.0.0.2' },
      { type: 'AAAA', name: 'svc.test', ttl: 9, address: '0:0:0:0:0:0:0:1' },
      { type: 'CNAME', name: 'alias.test', ttl: 4, target: 'svc.test' },
    ]);
    const srv = recordsFor(r.answers, 'alias.test', 'SRV');
    expect(srv.records).toHaveLength(2);
    expect(srv.cnameTtl).toBe(4);
  });

  it('reads the TC bit and the RCODE; a TTL with the top bit set counts as 0', () => {
    expect(decodeResponse(packet({ flags: 0x8383 }))).toMatchObject({ truncated: true, rcode: 3 });
    const q = [...name('x'), ...u16(1), ...u16(1)];
    const r = decodeResponse(
      packet({ question: q, answers: [rr(PTR_Q, 1, 0x80000000, [1, 2, 3, 4])] }),
    );
    expect(r.answers[0]!.ttl).toBe(0);
  });

  it('refuses hostile packets: pointer loops, forward pointers, overruns, long names', () => {
    const bad = [
      Uint8Array.from([0, 1, 0x81]), // shorter than a header
      packet({ question: [0xc0, 12, 0, 1, 0, 1] }), // pointer to itself
      packet({ question: [1, 97, 0xc0, 14, 0, 1, 0, 1] }), // pointer forwards into itself
      packet({ question: [5, 97] }), // label past the end
      packet({ question: [0x40, 0, 0, 1, 0, 1] }), // extended label type
      packet({
        question: [...name('x'), 0, 1, 0, 1],
        answers: [[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 9, 1]],
      }), // rdata overrun
      packet({ question: [...name('x'), 0, 1, 0, 1], answers: [rr(PTR_Q, 1, 1, [1, 2, 3])] }), // short A
      packet({
        question: [...name('x'), 0, 1, 0, 1],
        answers: [rr(PTR_Q, 33, 1, [0, 0, 0, 0, 0, 1, 9, 97])],
      }), // SRV target overrun
      packet({
        question: [
          ...Array.from({ length: 5 }, () => [63, ...Array(63).fill(97)]).flat(),
          0,
          0,
          1,
          0,
          1,
        ],
      }), // 321-byte name
      packet({ question: [3, 97, 46, 98, 0, 0, 1, 0, 1] }), // a dot inside a label
    ];
    for (const bytes of bad) expect(() => decodeResponse(bytes)).toThrow(DnsFormatError);
  });

  it('does not follow CNAME loops forever', () => {
    const answers = [
      { type: 'CNAME' as const, name: 'a', ttl: 1, target: 'b' },
      { type: 'CNAME' as const, name: 'b', ttl: 1, target: 'a' },
    ];
    expect(recordsFor(answers, 'a', 'A').records).toEqual([]);
  });

  test.prop([fc.uint8Array({ maxLength: 600 })], { numRuns: 2000 })(
    'random bytes decode or fail with DnsFormatError, never anything else',
    (bytes) => {
      try {
        decodeResponse(bytes);
      } catch (error) {
        expect(error).toBeInstanceOf(DnsFormatError);
      }
    },
  );

  test.prop(
    [
      fc.array(fc.tuple(fc.nat({ max: 200 }), fc.integer({ min: 0, max: 255 })), { maxLength: 40 }),
      fc.integer({ min: 0, max: 5 }),
    ],
    { numRuns: 2000 },
  )('mutations of a valid answer decode or fail with DnsFormatError', (edits, cut) => {
    const q = [...name('_http._tcp.svc.test'), ...u16(33), ...u16(1)];
    const valid = packet({
      question: q,
      answers: [
        rr(PTR_Q, 33, 30, [...u16(1), ...u16(5), ...u16(8080), 1, 97, 0xc0, 23]),
        rr([1, 97, 0xc0, 23], 1, 7, [127, 0, 0, 2]),
        rr(PTR_Q, 5, 4, [1, 98, 0xc0, 12]),
      ],
    });
    const bytes = valid.slice(0, valid.length - cut);
    for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
    try {
      const r = decodeResponse(bytes);
      for (const a of r.answers) expect(a.name.length).toBeLessThanOrEqual(255);
    } catch (error) {
      expect(error).toBeInstanceOf(DnsFormatError);
    }
  });
});
