import { describe, expect, it } from 'vitest';
import { isForwardingHeader } from '../../../../src/http/proxy/headers.js';
import {
  failOnProcessProblems,
  makePool,
  namedBackend,
  send,
  startProxy,
} from '../../proxy-support.js';

// Security class: clients could forge forwarding headers that the guide said they cannot:
// X-Forwarded-Port, -Prefix, -Server, -Ssl, -Scheme, -Uri, X-Real-IP, X-Client-IP,
// True-Client-IP and underscore spellings such as X_Forwarded_For reached the backend.

failOnProcessProblems();

const FORGED: Record<string, string> = {
  'X-Forwarded-Port': '443',
  'X-Forwarded-Prefix': '/admin',
  'X-Forwarded-Server': 'trusted.example',
  'X-Forwarded-Ssl': 'on',
  'X-Forwarded-Scheme': 'https',
  'X-Forwarded-Uri': '/admin',
  'X-Forwarded-Client-Cert': 'Hash=forged',
  'X-Real-IP': '10.0.0.1',
  'X-Client-IP': '10.0.0.2',
  'True-Client-IP': '10.0.0.3',
  X_Forwarded_For: '10.0.0.4',
  x_real_ip: '10.0.0.5',
  'x-forwarded_host': 'evil.example',
  'X-FORWARDED-FOR': '10.0.0.6',
  Forwarded: 'for=10.0.0.7',
};

describe('forged forwarding headers', () => {
  it('are all removed from an untrusted client before the proxy sets its own', async () => {
    const a = await namedBackend('a');
    const { url } = await startProxy(makePool([a.url]), { forwarded: true });
    const reply = await send(url, { headers: { ...FORGED, 'x-kept': 'yes' } });
    expect(reply.status).toBe(200);
    const received = a.requests[0]!;
    const names = new Set<string>();
    for (let i = 0; i < received.rawHeaders.length; i += 2) {
      names.add(received.rawHeaders[i]!.toLowerCase());
    }
    expect([...names].filter((n) => n.includes('_'))).toEqual([]);
    for (const name of ['x-forwarded-port', 'x-forwarded-prefix', 'x-forwarded-server']) {
      expect(names.has(name)).toBe(false);
    }
    for (const name of ['x-forwarded-ssl', 'x-forwarded-scheme', 'x-forwarded-uri']) {
      expect(names.has(name)).toBe(false);
    }
    expect(names.has('x-forwarded-client-cert')).toBe(false);
    expect(names.has('x-real-ip')).toBe(false);
    expect(names.has('x-client-ip')).toBe(false);
    expect(names.has('true-client-ip')).toBe(false);
    // Only the proxy's own, naming the real peer.
    expect(received.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(received.headers['x-forwarded-host']).toBe(new URL(url).host);
    expect(received.headers['x-forwarded-proto']).toBe('http');
    expect(received.headers.forwarded).toBe(`for=127.0.0.1;host="${new URL(url).host}";proto=http`);
    expect(received.headers['x-kept']).toBe('yes');
  });

  it('are passed on from a trusted proxy', async () => {
    const a = await namedBackend('a');
    const { url } = await startProxy(makePool([a.url]), { trustProxy: ['127.0.0.1'] });
    await send(url, { headers: FORGED });
    const received = a.requests[0]!;
    expect(received.headers['x-forwarded-port']).toBe('443');
    expect(received.headers['x-real-ip']).toBe('10.0.0.1');
    expect(received.headers['true-client-ip']).toBe('10.0.0.3');
    expect(received.headers['x-forwarded-for']).toBe('10.0.0.6, 127.0.0.1');
  });

  it('are recognised in any case and either spelling, and nothing else is', () => {
    for (const name of Object.keys(FORGED)) expect(isForwardingHeader(name)).toBe(true);
    for (const name of [
      'x-forwarded',
      'x-request-id',
      'x-real-ipv6',
      'forwarded-for',
      'true-client',
    ]) {
      expect(isForwardingHeader(name)).toBe(false);
    }
    for (const name of ['content-type', 'X', 'f', 't', ''])
      expect(isForwardingHeader(name)).toBe(false);
  });
});
