import { describe, expect, it } from 'vitest';
import { RetryBudget } from '../../../src/http/shared/retry-budget.js';
import {
  classifyError,
  isIdempotentMethod,
  isTimeoutKind,
  RetryPolicy,
} from '../../../src/http/shared/retry-policy.js';

function coded(code: string): Error {
  return Object.assign(new Error(code), { code });
}

describe('classifyError', () => {
  it('tells connect failures, timeouts and resets apart', () => {
    expect(classifyError(coded('ECONNREFUSED'))).toBe('connect');
    expect(classifyError(coded('ENOTFOUND'))).toBe('connect');
    expect(classifyError(coded('UND_ERR_DESTROYED'))).toBe('connect');
    expect(classifyError(coded('ERR_TLS_CERT_ALTNAME_INVALID'))).toBe('connect');
    expect(classifyError(coded('UND_ERR_CONNECT_TIMEOUT'))).toBe('connect-timeout');
    expect(classifyError(coded('UND_ERR_HEADERS_TIMEOUT'))).toBe('headers-timeout');
    expect(classifyError(coded('UND_ERR_BODY_TIMEOUT'))).toBe('body-timeout');
    expect(classifyError(coded('ECONNRESET'))).toBe('reset');
    expect(classifyError(coded('UND_ERR_SOCKET'))).toBe('reset');
    expect(classifyError(coded('UND_ERR_ABORTED'))).toBe('aborted');
    expect(classifyError(Object.assign(new Error('x'), { name: 'AbortError' }))).toBe('aborted');
    expect(classifyError(coded('UND_ERR_INVALID_ARG'))).toBe('other');
    expect(classifyError(new Error('plain'))).toBe('other');
    expect(classifyError(undefined)).toBe('other');
    expect(isTimeoutKind('headers-timeout')).toBe(true);
    expect(isTimeoutKind('reset')).toBe(false);
  });
});

describe('isIdempotentMethod', () => {
  it('follows RFC 9110 §9.2.2', () => {
    for (const m of ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE'])
      expect(isIdempotentMethod(m)).toBe(true);
    for (const m of ['POST', 'PATCH', 'CONNECT', 'get', 'PROPFIND'])
      expect(isIdempotentMethod(m)).toBe(false);
  });
});

describe('RetryPolicy', () => {
  const policy = new RetryPolicy({ budget: false });
  const safe = { safeToRepeat: true, replayable: true };
  const post = { safeToRepeat: false, replayable: true };
  const streamed = { safeToRepeat: true, replayable: false };

  it('retries a request that never left, whatever the method, if its body is whole', () => {
    expect(policy.retriesError('connect', false, true, post)).toBe(true);
    expect(policy.retriesError('connect-timeout', false, true, post)).toBe(true);
    expect(
      policy.retriesError('connect', false, true, { safeToRepeat: false, replayable: false }),
    ).toBe(true);
    expect(
      policy.retriesError('connect', false, false, { safeToRepeat: true, replayable: false }),
    ).toBe(false);
  });

  it('retries a sent request only when it is safe to repeat and replayable', () => {
    expect(policy.retriesError('reset', true, false, safe)).toBe(true);
    expect(policy.retriesError('headers-timeout', true, false, safe)).toBe(true);
    expect(policy.retriesError('reset', true, false, post)).toBe(false);
    expect(policy.retriesError('reset', true, false, streamed)).toBe(false);
  });

  it('never retries aborts, body timeouts or unknown errors', () => {
    expect(policy.retriesError('aborted', false, true, safe)).toBe(false);
    expect(policy.retriesError('body-timeout', true, false, safe)).toBe(false);
    expect(policy.retriesError('other', false, true, safe)).toBe(false);
  });

  it('retries the configured statuses for requests safe to repeat', () => {
    expect(policy.retriesStatus(503, safe)).toBe(true);
    expect(policy.retriesStatus(500, safe)).toBe(false);
    expect(policy.retriesStatus(503, post)).toBe(false);
    expect(policy.retriesStatus(503, streamed)).toBe(false);
    const custom = new RetryPolicy({ statuses: [429, 500] });
    expect(custom.isRetryStatus(429)).toBe(true);
    expect(custom.isRetryStatus(503)).toBe(false);
    expect(custom.statuses).toEqual([429, 500]);
  });

  it('resolves defaults and budgets', () => {
    const p = new RetryPolicy();
    expect(p.attempts).toBe(3);
    expect(p.bodyBufferBytes).toBe(65_536);
    expect(p.nonIdempotent).toBe(false);
    expect(p.maxRetryAfterMs).toBe(60_000);
    expect(p.budget).toBeInstanceOf(RetryBudget);
    expect(policy.budget).toBeUndefined();
    const shared = new RetryBudget();
    expect(new RetryPolicy({ budget: shared }).budget).toBe(shared);
  });

  it('rejects bad options, naming them', () => {
    expect(() => new RetryPolicy({ attempts: 0 })).toThrow(
      /retry\.attempts must be an integer >= 1 and <= 100, got 0/,
    );
    expect(() => new RetryPolicy({ attempts: 1.5 })).toThrow(/retry\.attempts .* got 1\.5/);
    expect(() => new RetryPolicy({ statuses: [99] })).toThrow(/retry\.statuses\[\] .* got 99/);
    expect(() => new RetryPolicy({ statuses: 503 as never })).toThrow(
      /retry\.statuses must be an array/,
    );
    expect(() => new RetryPolicy({ bodyBufferBytes: -1 })).toThrow(
      /retry\.bodyBufferBytes .* got -1/,
    );
    expect(() => new RetryPolicy({ nonIdempotent: 'yes' as never })).toThrow(
      /retry\.nonIdempotent must be a boolean, got "yes"/,
    );
    expect(() => new RetryPolicy({ maxRetryAfterMs: -5 })).toThrow(
      /retry\.maxRetryAfterMs .* got -5/,
    );
    expect(() => new RetryPolicy({ budget: { ratio: -1 } })).toThrow(/retry\.budget\.ratio/);
    expect(() => new RetryPolicy({ tries: 2 } as never)).toThrow(
      /retry got an unknown option "tries"/,
    );
  });
});
