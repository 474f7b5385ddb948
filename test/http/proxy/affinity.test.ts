import { describe, expect, it } from 'vitest';
import { Affinity, endpointToken } from '../../../src/http/proxy/affinity.js';

/** The affinity cookie's HMAC key: tests forge cookies with it, as a fleet member would. */
const SECRET = 'test-secret-0123456789';

describe('Affinity (cookie)', () => {
  const affinity = new Affinity({ cookie: 'sy', secret: SECRET });

  it('reads only the whole cookie name', () => {
    expect(affinity.readCookie(undefined)).toBeUndefined();
    expect(affinity.readCookie('sy=abc')).toBe('abc');
    expect(affinity.readCookie('a=1; sy=abc; b=2')).toBe('abc');
    expect(affinity.readCookie('a=1;sy=abc')).toBe('abc');
    expect(affinity.readCookie('xsy=1; sy=abc')).toBe('abc');
    expect(affinity.readCookie('xsy=1')).toBeUndefined();
    expect(affinity.readCookie('a=sy=1')).toBeUndefined();
    expect(affinity.readCookie('sy=')).toBe('');
  });

  it('maps tokens back to the indexed endpoints, and forgets the ones that left', () => {
    affinity.index([{ id: 'a' }, { id: 'b' }]);
    expect(affinity.idForToken(endpointToken('a', SECRET))).toBe('a');
    expect(affinity.idForToken(endpointToken('b', SECRET))).toBe('b');
    affinity.index([{ id: 'b' }]);
    expect(affinity.idForToken(endpointToken('a', SECRET))).toBeUndefined();
    expect(affinity.idForToken('nonsense')).toBeUndefined();
  });

  it('makes stable 16-hex-digit tokens that do not reveal the id', () => {
    const token = endpointToken('http://10.0.0.1:8080', SECRET);
    expect(token).toMatch(/^[0-9a-f]{16}$/);
    expect(endpointToken('http://10.0.0.1:8080', SECRET)).toBe(token);
    expect(endpointToken('http://10.0.0.2:8080', SECRET)).not.toBe(token);
  });

  it('builds Set-Cookie values, Secure when asked or on TLS', () => {
    expect(affinity.setCookieFor('a', false)).toBe(
      `sy=${endpointToken('a', SECRET)}; Path=/; HttpOnly; SameSite=Lax`,
    );
    expect(affinity.setCookieFor('a', true)).toMatch(/; Secure$/);
    const never = new Affinity({ cookie: { name: 'sy', secure: false }, secret: SECRET });
    expect(never.setCookieFor('a', true)).not.toMatch(/Secure/);
  });

  it('rejects bad cookie options', () => {
    expect(() => new Affinity({ cookie: '' })).toThrow(
      /affinity\.cookie name must be a non-empty string/,
    );
    expect(() => new Affinity({ cookie: { name: 'sy', path: 'a b' } })).toThrow(
      /path must not hold/,
    );
    expect(() => new Affinity({ cookie: { name: 'sy', domain: 'a;b' } })).toThrow(
      /domain must not hold/,
    );
    expect(() => new Affinity({ cookie: { name: 'sy', secure: 'yes' as never } })).toThrow(
      /secure must be a boolean or "auto", got "yes"/,
    );
    expect(() => new Affinity({ cookie: { name: 'sy', httpOnly: 1 as never } })).toThrow(
      /httpOnly must be a boolean, got 1/,
    );
    expect(() => new Affinity({ cookie: { name: 'sy', colour: 'red' } as never })).toThrow(
      /affinity\.cookie got an unknown option "colour"/,
    );
    expect(() => new Affinity(null as never)).toThrow(/affinity must be/);
  });
});
