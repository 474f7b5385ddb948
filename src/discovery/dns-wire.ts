/**
 * The DNS wire format (RFC 1035, SRV from RFC 2782, AAAA from RFC 3596), as far as
 * discovery needs it: encode one question, decode the answer's A, AAAA, SRV and CNAME
 * records with their TTLs. The decoder trusts nothing: every read is bounds-checked, a
 * compression pointer must point strictly backwards (so pointer loops cannot happen), and
 * names are capped at 255 bytes, so a hostile packet fails with {@link DnsFormatError}
 * and never loops or reads past its end.
 * @internal
 */

/** Record types discovery asks for. */
export type DnsRecordType = 'A' | 'AAAA' | 'SRV';

/** Numeric codes of the record types read here. @internal */
export const TYPE_CODES = { A: 1, CNAME: 5, AAAA: 28, SRV: 33, OPT: 41 } as const;
const CLASS_IN = 1;
/** The UDP payload size advertised with EDNS(0): the DNS flag day 2020 value. */
export const EDNS_UDP_SIZE = 1232;
/** Longest name on the wire (RFC 1035 §2.3.4). */
const MAX_NAME_BYTES = 255;

/** Response codes (RFC 1035 §4.1.1) discovery tells apart. */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

/** An A or AAAA answer. */
export interface AddressRecord {
  readonly type: 'A' | 'AAAA';
  readonly name: string;
  readonly ttl: number;
  readonly address: string;
}

/** An SRV answer. */
export interface SrvRecord {
  readonly type: 'SRV';
  readonly name: string;
  readonly ttl: number;
  readonly priority: number;
  readonly weight: number;
  readonly port: number;
  readonly target: string;
}

/** A CNAME answer (followed from the question's name to the records it aliases). */
export interface CnameRecord {
  readonly type: 'CNAME';
  readonly name: string;
  readonly ttl: number;
  readonly target: string;
}

/** Any record the decoder keeps. */
export type DnsRecord = AddressRecord | SrvRecord | CnameRecord;

/** A decoded response. */
export interface DnsResponse {
  readonly id: number;
  /** The QR bit: true for a response. */
  readonly response: boolean;
  /** The TC bit: the answer did not fit and was cut. */
  readonly truncated: boolean;
  readonly rcode: number;
  /** The question echoed, lower-cased; undefined when the response carries none. */
  readonly question: { readonly name: string; readonly type: number } | undefined;
  /** Answer-section records of the types above, in order; other types are skipped. */
  readonly answers: readonly DnsRecord[];
}

/** A packet that does not parse. */
export class DnsFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DnsFormatError';
  }
}

/**
 * Checks a domain name and returns its labels, lower-cased (a trailing dot is allowed).
 * @throws TypeError naming `what` for an empty label, a label over 63 bytes, a name over
 *   253 characters or a character outside printable ASCII.
 */
export function nameLabels(name: string, what = 'name'): string[] {
  const text = name.endsWith('.') ? name.slice(0, -1) : name;
  const fail = (why: string) => {
    throw new TypeError(`${what} must be a domain name (${why}), got ${JSON.stringify(name)}`);
  };
  if (text.length === 0) fail('empty');
  if (text.length > 253) fail('longer than 253 characters');
  if (!/^[\x21-\x7e]+$/.test(text)) fail('printable ASCII only, no spaces');
  const labels = text.toLowerCase().split('.');
  for (const label of labels) {
    if (label.length === 0) fail('empty label');
    if (label.length > 63) fail('label longer than 63 characters');
  }
  return labels;
}

/**
 * Encodes a recursive query for `name`/`type`, with an EDNS(0) OPT record unless `edns` is
 * false (for the rare server that answers FORMERR to EDNS, RFC 6891 §7).
 */
export function encodeQuery(
  id: number,
  name: string,
  type: DnsRecordType,
  edns = true,
): Uint8Array {
  const labels = nameLabels(name);
  let nameBytes = 1;
  for (const label of labels) nameBytes += 1 + label.length;
  const out = new Uint8Array(12 + nameBytes + 4 + (edns ? 11 : 0));
  const view = new DataView(out.buffer);
  view.setUint16(0, id);
  view.setUint16(2, 0x0100); // RD: recursion desired
  view.setUint16(4, 1); // QDCOUNT
  if (edns) view.setUint16(10, 1); // ARCOUNT: the OPT record
  let at = 12;
  for (const label of labels) {
    out[at++] = label.length;
    for (let i = 0; i < label.length; i++) out[at++] = label.charCodeAt(i);
  }
  out[at++] = 0;
  view.setUint16(at, TYPE_CODES[type]);
  view.setUint16(at + 2, CLASS_IN);
  at += 4;
  if (!edns) return out;
  // OPT: root name, type 41, class = UDP payload size, TTL 0 (no DO bit), no options.
  out[at] = 0;
  view.setUint16(at + 1, TYPE_CODES.OPT);
  view.setUint16(at + 3, EDNS_UDP_SIZE);
  return out;
}

class Reader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.#bytes.length;
  }

  need(at: number, n: number, what: string): void {
    if (at < 0 || at + n > this.#bytes.length) {
      throw new DnsFormatError(`${what} runs past the end of the packet (offset ${at})`);
    }
  }

  u8(at: number, what: string): number {
    this.need(at, 1, what);
    return this.#bytes[at]!;
  }

  u16(at: number, what: string): number {
    this.need(at, 2, what);
    return this.#view.getUint16(at);
  }

  u32(at: number, what: string): number {
    this.need(at, 4, what);
    return this.#view.getUint32(at);
  }

  /** Reads a possibly compressed name at `start`; returns it and the offset after it. */
  name(start: number): { name: string; next: number } {
    const labels: string[] = [];
    let at = start;
    let next = -1;
    let bytes = 1;
    // Each pointer must go strictly backwards: a loop would need one that does not.
    let limit = start;
    for (;;) {
      const len = this.u8(at, 'name');
      if (len === 0) {
        if (next < 0) next = at + 1;
        break;
      }
      const kind = len & 0xc0;
      if (kind === 0xc0) {
        const target = this.u16(at, 'compression pointer') & 0x3fff;
        if (target >= limit) {
          throw new DnsFormatError(`compression pointer at ${at} does not point backwards`);
        }
        if (next < 0) next = at + 2;
        at = limit = target;
        continue;
      }
      if (kind !== 0) throw new DnsFormatError(`unsupported label type at ${at}`);
      bytes += len + 1;
      if (bytes > MAX_NAME_BYTES) throw new DnsFormatError('name longer than 255 bytes');
      this.need(at + 1, len, 'label');
      let label = '';
      for (let i = 0; i < len; i++) {
        const c = this.#bytes[at + 1 + i]!;
        // A dot inside a label, or a control byte, would change the name when re-encoded.
        if (c <= 0x20 || c >= 0x7f || c === 0x2e) {
          throw new DnsFormatError(`label at ${at} holds byte 0x${c.toString(16)}`);
        }
        label += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 32 : c);
      }
      labels.push(label);
      at += len + 1;
    }
    return { name: labels.join('.'), next };
  }
}

function ipv6(r: Reader, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(r.u16(at + i, 'AAAA').toString(16));
  return groups.join(':');
}

/**
 * Decodes a response. Records of other types in the answer section are skipped; the
 * authority and additional sections are not read.
 * @throws DnsFormatError for a malformed packet.
 */
export function decodeResponse(bytes: Uint8Array): DnsResponse {
  const r = new Reader(bytes);
  if (r.length < 12)
    throw new DnsFormatError(`packet of ${r.length} bytes is shorter than a header`);
  const id = r.u16(0, 'header');
  const flags = r.u16(2, 'header');
  const qdcount = r.u16(4, 'header');
  const ancount = r.u16(6, 'header');
  let at = 12;
  let question: DnsResponse['question'];
  for (let i = 0; i < qdcount; i++) {
    const { name, next } = r.name(at);
    const type = r.u16(next, 'question');
    r.need(next, 4, 'question');
    at = next + 4;
    if (i === 0) question = { name, type };
  }
  const answers: DnsRecord[] = [];
  for (let i = 0; i < ancount; i++) {
    const { name, next } = r.name(at);
    const type = r.u16(next, 'record');
    const klass = r.u16(next + 2, 'record');
    // TTLs are unsigned 31-bit (RFC 2181 §8): a set top bit means 0.
    const rawTtl = r.u32(next + 4, 'record');
    const ttl = rawTtl > 0x7fffffff ? 0 : rawTtl;
    const rdlength = r.u16(next + 8, 'record');
    const rdata = next + 10;
    r.need(rdata, rdlength, 'record data');
    at = rdata + rdlength;
    if (klass !== CLASS_IN) continue;
    if (type === TYPE_CODES.A) {
      if (rdlength !== 4) throw new DnsFormatError(`A record with ${rdlength} bytes of data`);
      const address = `${r.u8(rdata, 'A')}.${r.u8(rdata + 1, 'A')}.${r.u8(rdata + 2, 'A')}.${r.u8(rdata + 3, 'A')}`;
      answers.push({ type: 'A', name, ttl, address });
    } else if (type === TYPE_CODES.AAAA) {
      if (rdlength !== 16) throw new DnsFormatError(`AAAA record with ${rdlength} bytes of data`);
      answers.push({ type: 'AAAA', name, ttl, address: ipv6(r, rdata) });
    } else if (type === TYPE_CODES.SRV) {
      if (rdlength < 7) throw new DnsFormatError(`SRV record with ${rdlength} bytes of data`);
      const target = r.name(rdata + 6);
      if (target.next > at) throw new DnsFormatError('SRV target runs past its record');
      answers.push({
        type: 'SRV',
        name,
        ttl,
        priority: r.u16(rdata, 'SRV'),
        weight: r.u16(rdata + 2, 'SRV'),
        port: r.u16(rdata + 4, 'SRV'),
        target: target.name,
      });
    } else if (type === TYPE_CODES.CNAME) {
      const target = r.name(rdata);
      if (target.next > at) throw new DnsFormatError('CNAME target runs past its record');
      answers.push({ type: 'CNAME', name, ttl, target: target.name });
    }
  }
  return {
    id,
    response: (flags & 0x8000) !== 0,
    truncated: (flags & 0x0200) !== 0,
    rcode: flags & 0x000f,
    question,
    answers,
  };
}

/** Most CNAME hops followed from the question's name. */
const MAX_CNAME_HOPS = 8;

/**
 * The records of `type` for `name`, following CNAMEs within the answer (a bounded number
 * of hops), and the smallest TTL on the way (aliases included).
 */
export function recordsFor<T extends 'A' | 'AAAA' | 'SRV'>(
  answers: readonly DnsRecord[],
  name: string,
  type: T,
): { records: Extract<DnsRecord, { type: T }>[]; cnameTtl: number } {
  let owner = nameLabels(name).join('.');
  let cnameTtl = Number.POSITIVE_INFINITY;
  for (let hop = 0; hop < MAX_CNAME_HOPS; hop++) {
    const alias = answers.find((a) => a.type === 'CNAME' && a.name === owner) as
      | CnameRecord
      | undefined;
    if (alias === undefined) break;
    owner = alias.target;
    cnameTtl = Math.min(cnameTtl, alias.ttl);
  }
  const records = answers.filter((a) => a.type === type && a.name === owner) as Extract<
    DnsRecord,
    { type: T }
  >[];
  return { records, cnameTtl };
}
