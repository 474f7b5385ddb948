import { describe, expect, it } from 'vitest';
import {
  buildRequestHeaders,
  buildResponseHeaders,
  connectionTokens,
  forwardedElement,
  type RequestHeaderRules,
  type RequestHeadFacts,
} from '../../../src/http/proxy/headers.js';

const RULES: RequestHeaderRules = { changeOrigin: false, xForwarded: true, forwarded: false };
const CLIENT = { ip: '127.0.0.9', proto: 'http', trusted: false };

function facts(): RequestHeadFacts {
  return {
    contentLength: -1,
    chunked: false,
    idempotencyKey: false,
    host: undefined,
    upgrade: undefined,
    cookie: undefined,
    originalClient: undefined,
    forwardedFor: undefined,
    forwardedProto: undefined,
  };
}

function pairs(flat: readonly (string | string[])[]): [string, string | string[]][] {
  const out: [string, string | string[]][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1]!]);
  return out;
}

function names(flat: readonly (string | string[])[]): string[] {
  return pairs(flat).map(([n]) => (n as string).toLowerCase());
}

describe('buildRequestHeaders', () => {
  it('removes every hop-by-hop header, in any case, and keeps the rest in order and case', () => {
    const raw = [
      'Host',
      'example.test',
      'Connection',
      'keep-alive',
      'Keep-Alive',
      'timeout=5',
      'Proxy-Connection',
      'keep-alive',
      'TE',
      'trailers',
      'Trailer',
      'Expires',
      'Transfer-Encoding',
      'chunked',
      'Upgrade',
      'h2c',
      'Proxy-Authorization',
      'Basic Zm9vOmJhcg==',
      'Proxy-Authenticate',
      'Basic',
      'Expect',
      '100-continue',
      'User-Agent',
      'test',
      'X-Custom',
      'a',
      'x-custom',
      'b',
    ];
    const f = facts();
    const out = buildRequestHeaders(raw, RULES, CLIENT, f);
    expect(pairs(out)).toEqual([
      ['Host', 'example.test'],
      ['User-Agent', 'test'],
      ['X-Custom', 'a'],
      ['x-custom', 'b'],
      ['x-forwarded-for', '127.0.0.9'],
      ['x-forwarded-proto', 'http'],
      ['x-forwarded-host', 'example.test'],
    ]);
    expect(f.chunked).toBe(true);
    expect(f.upgrade).toBe('h2c');
    expect(f.host).toBe('example.test');
  });

  it('removes the headers that Connection names, even when Connection comes after them', () => {
    const raw = [
      'X-Secret',
      '1',
      'x-other',
      '2',
      'Connection',
      'close, X-Secret',
      'Connection',
      'X-OTHER',
      'X-Kept',
      '3',
    ];
    const out = buildRequestHeaders(raw, RULES, CLIENT, facts());
    expect(names(out)).toEqual(['x-kept', 'x-forwarded-for', 'x-forwarded-proto']);
  });

  it('replaces client-supplied X-Forwarded-* and Forwarded unless trusted', () => {
    const raw = [
      'host',
      'front.test',
      'X-Forwarded-For',
      '6.6.6.6',
      'X-Forwarded-Proto',
      'https',
      'X-Forwarded-Host',
      'evil.test',
      'Forwarded',
      'for=6.6.6.6',
    ];
    const untrusted = pairs(buildRequestHeaders(raw, RULES, CLIENT, facts()));
    expect(untrusted).toEqual([
      ['host', 'front.test'],
      ['x-forwarded-for', '127.0.0.9'],
      ['x-forwarded-proto', 'http'],
      ['x-forwarded-host', 'front.test'],
    ]);
    const f = facts();
    const trusted = pairs(buildRequestHeaders(raw, RULES, { ...CLIENT, trusted: true }, f));
    expect(trusted).toEqual([
      ['host', 'front.test'],
      ['x-forwarded-for', '6.6.6.6, 127.0.0.9'],
      ['x-forwarded-proto', 'https'],
      ['x-forwarded-host', 'evil.test'],
      ['forwarded', 'for=6.6.6.6'],
    ]);
    expect(f.originalClient).toBe('6.6.6.6');
    expect(f.forwardedProto).toBe('https');
  });

  it('joins repeated X-Forwarded-For headers when trusted', () => {
    const raw = ['X-Forwarded-For', '1.1.1.1', 'x-forwarded-for', '2.2.2.2, 3.3.3.3'];
    const out = pairs(buildRequestHeaders(raw, RULES, { ...CLIENT, trusted: true }, facts()));
    expect(out[0]).toEqual(['x-forwarded-for', '1.1.1.1, 2.2.2.2, 3.3.3.3, 127.0.0.9']);
  });

  it('sets an RFC 7239 Forwarded header when asked, appending to a trusted one', () => {
    const rules = { ...RULES, xForwarded: false, forwarded: true };
    const raw = ['Host', 'front.test:8080', 'Forwarded', 'for=10.0.0.1'];
    expect(pairs(buildRequestHeaders(raw, rules, CLIENT, facts()))).toEqual([
      ['Host', 'front.test:8080'],
      ['forwarded', 'for=127.0.0.9;host="front.test:8080";proto=http'],
    ]);
    expect(pairs(buildRequestHeaders(raw, rules, { ...CLIENT, trusted: true }, facts()))).toEqual([
      ['Host', 'front.test:8080'],
      ['forwarded', 'for=10.0.0.1, for=127.0.0.9;host="front.test:8080";proto=http'],
    ]);
    expect(forwardedElement('::1', 'a.test', 'https')).toBe('for="[::1]";host=a.test;proto=https');
    expect(forwardedElement(undefined, undefined, 'http')).toBe('for=unknown;proto=http');
  });

  it('drops Host with changeOrigin (undici then sends the endpoint host)', () => {
    const f = facts();
    const out = buildRequestHeaders(
      ['Host', 'front.test', 'Accept', '*/*'],
      { ...RULES, changeOrigin: true },
      CLIENT,
      f,
    );
    expect(names(out)).toEqual([
      'accept',
      'x-forwarded-for',
      'x-forwarded-proto',
      'x-forwarded-host',
    ]);
    expect(f.host).toBe('front.test');
  });

  it('records the body framing, an Idempotency-Key and cookies', () => {
    const f = facts();
    const raw = [
      'Content-Length',
      '12',
      'content-length',
      '12',
      'Idempotency-Key',
      'k1',
      'Cookie',
      'a=1',
      'cookie',
      'sy=x',
    ];
    const out = buildRequestHeaders(raw, RULES, CLIENT, f);
    expect(names(out).filter((n) => n === 'content-length')).toHaveLength(1);
    expect(f.contentLength).toBe(12);
    expect(f.idempotencyKey).toBe(true);
    expect(f.cookie).toBe('a=1; sy=x');
  });

  it('does not lower-case or drop look-alike names of the same length', () => {
    const raw = ['Accept-Encoding', 'gzip', 'User-Agent', 'x', 'Set-Cookie', 'no', 'Ta', 'tb'];
    const out = pairs(buildRequestHeaders(raw, { ...RULES, xForwarded: false }, CLIENT, facts()));
    expect(out).toEqual([
      ['Accept-Encoding', 'gzip'],
      ['User-Agent', 'x'],
      ['Set-Cookie', 'no'],
      ['Ta', 'tb'],
    ]);
  });
});

describe('buildRequestHeaders: unusual input', () => {
  it('keeps the first Host only', () => {
    const f = facts();
    const out = buildRequestHeaders(
      ['Host', 'a.test', 'host', 'b.test'],
      { ...RULES, xForwarded: false },
      CLIENT,
      f,
    );
    expect(pairs(out)).toEqual([['Host', 'a.test']]);
    expect(f.host).toBe('a.test');
  });

  it('drops HTTP/2 pseudo-headers, turning :authority into Host', () => {
    const raw = [
      ':method',
      'GET',
      ':path',
      '/x',
      ':scheme',
      'https',
      ':authority',
      'a.test',
      'accept',
      '*/*',
    ];
    const f = facts();
    const out = buildRequestHeaders(raw, { ...RULES, xForwarded: false }, CLIENT, f);
    expect(pairs(out)).toEqual([
      ['host', 'a.test'],
      ['accept', '*/*'],
    ]);
    expect(f.host).toBe('a.test');
  });
});

describe('buildResponseHeaders', () => {
  it('removes hop-by-hop headers and those Connection names; keeps repeated values', () => {
    const out = buildResponseHeaders(
      {
        connection: 'keep-alive, x-internal',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        trailer: 'x-checksum',
        upgrade: 'h2c',
        'proxy-authenticate': 'Basic',
        'x-internal': 'secret',
        'content-type': 'text/plain',
        'set-cookie': ['a=1', 'b=2'],
      },
      undefined,
    );
    expect(pairs(out)).toEqual([
      ['content-type', 'text/plain'],
      ['set-cookie', ['a=1', 'b=2']],
    ]);
  });

  it('adds an affinity cookie', () => {
    expect(pairs(buildResponseHeaders({ 'set-cookie': ['a=1'] }, 'sy=abc'))).toEqual([
      ['set-cookie', ['a=1']],
      ['set-cookie', 'sy=abc'],
    ]);
  });
});

describe('connectionTokens', () => {
  it('lists named headers, lower case, without options or hop-by-hop names', () => {
    expect(connectionTokens('close')).toBeUndefined();
    expect(connectionTokens('keep-alive, Upgrade')).toBeUndefined();
    expect([...(connectionTokens(['X-A , x-b', ' ,X-C']) ?? [])]).toEqual(['x-a', 'x-b', 'x-c']);
  });
});
