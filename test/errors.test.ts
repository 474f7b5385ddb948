import { describe, expect, it } from 'vitest';
import {
  isNoEndpointError,
  isSwitchyardError,
  NoEndpointError,
  SwitchyardError,
} from '../src/index.js';
import { checkNumber, checkOptions, quote } from '../src/validate.js';

describe('errors', () => {
  it('carries a stable code, a name and a cause', () => {
    const cause = new Error('boom');
    const error = new NoEndpointError('nothing to pick', { cause });
    expect(error.code).toBe('ERR_NO_ENDPOINT');
    expect(error.name).toBe('NoEndpointError');
    expect(error.cause).toBe(cause);
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(SwitchyardError);
    expect(error).toBeInstanceOf(NoEndpointError);
    expect(isSwitchyardError(error)).toBe(true);
    expect(isNoEndpointError(error)).toBe(true);
  });

  it('recognises errors from another copy of the package by brand', () => {
    // A structurally identical class, as a second install would define it.
    const brand = Symbol.for('switchyard.error');
    class NoEndpointError2 extends Error {
      readonly code = 'ERR_NO_ENDPOINT';
      override name = 'NoEndpointError';
      get [brand]() {
        return true;
      }
    }
    const foreign = new NoEndpointError2('x');
    expect(foreign).toBeInstanceOf(SwitchyardError);
    expect(foreign).toBeInstanceOf(NoEndpointError);
    expect(isNoEndpointError(foreign)).toBe(true);
    expect(new Error('plain')).not.toBeInstanceOf(SwitchyardError);
    expect(isSwitchyardError({ code: 'ERR_NO_ENDPOINT' })).toBe(false);
  });
});

describe('validation helpers', () => {
  it('quotes values readably', () => {
    expect(quote('a')).toBe('"a"');
    expect(quote(-1)).toBe('-1');
    expect(quote(Number.NaN)).toBe('NaN');
    expect(quote(-0)).toBe('-0');
    expect(quote(undefined)).toBe('undefined');
    expect(quote([1, 2])).toBe('array of 2');
    expect(quote({ a: 1 })).toBe('{"a":1}');
  });

  it('rejects unknown options by name and non-objects', () => {
    expect(() => checkOptions('Thing', { colour: 1 }, ['size'])).toThrow(
      /Thing got an unknown option "colour"; known options are "size"/,
    );
    expect(() => checkOptions('Thing', 5, ['size'])).toThrow(TypeError);
    expect(checkOptions('Thing', undefined, ['size'])).toEqual({});
  });

  it('checks numbers by type and range', () => {
    expect(() => checkNumber('weight', -1, { min: 0, minExclusive: true }, 'endpoint "a"')).toThrow(
      new RangeError('weight must be a finite number > 0, got -1 (endpoint "a")'),
    );
    expect(() => checkNumber('weight', '3', { min: 0 })).toThrow(TypeError);
    expect(() => checkNumber('n', 1.5, { integer: true })).toThrow(/n must be an integer, got 1.5/);
    expect(() => checkNumber('n', Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(checkNumber('n', Number.POSITIVE_INFINITY, { allowInfinity: true })).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(checkNumber('n', 3, { min: 1, max: 5, integer: true })).toBe(3);
  });
});
