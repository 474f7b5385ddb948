import { describe, expect, it } from 'vitest';
import { Pool } from '../../src/index.js';
import type { PoolOptions } from '../../src/pool/options.js';
import { urls } from './support.js';

const make = (options: unknown) => () => new Pool(options as PoolOptions);

describe('Pool: bad options', () => {
  it.each([
    ['not an object', 'fast', TypeError, /^Pool options must be an object, got "fast"$/],
    [
      'an unknown option',
      { endpoint: [] },
      TypeError,
      /^Pool got an unknown option "endpoint"; known options are "endpoints", /,
    ],
    [
      'endpoints not an array',
      { endpoints: 'http://a' },
      TypeError,
      /^endpoints must be an array, got "http:\/\/a"$/,
    ],
    [
      'a selector without pick',
      { selector: { update() {} } },
      TypeError,
      /^selector must be an object with update\(\) and pick\(\) methods, got \{\}$/,
    ],
    [
      'slowStartMs < 0',
      { slowStartMs: -1 },
      RangeError,
      /^slowStartMs must be a finite number >= 0, got -1$/,
    ],
    [
      'slowStartMs a string',
      { slowStartMs: '10' },
      TypeError,
      /^slowStartMs must be a finite number >= 0, got "10"$/,
    ],
    [
      'panicThreshold > 1',
      { panicThreshold: 50 },
      RangeError,
      /^panicThreshold must be a finite number >= 0 and <= 1, got 50$/,
    ],
    [
      'panicThreshold NaN',
      { panicThreshold: Number.NaN },
      RangeError,
      /^panicThreshold .* got NaN$/,
    ],
    [
      'maxRetryAfterMs Infinity',
      { maxRetryAfterMs: Number.POSITIVE_INFINITY },
      RangeError,
      /^maxRetryAfterMs must be a finite number >= 0, got Infinity$/,
    ],
    [
      'latencyDecayMs 0',
      { latencyDecayMs: 0 },
      RangeError,
      /^latencyDecayMs must be a finite number > 0, got 0$/,
    ],
    ['now not a function', { now: 5 }, TypeError, /^now must be a function, got 5$/],
    ['random not a function', { random: 'x' }, TypeError, /^random must be a function, got "x"$/],
    [
      'outlierDetection a number',
      { outlierDetection: 5 },
      TypeError,
      /^outlierDetection must be an object or false, got 5$/,
    ],
    [
      'outlierDetection unknown key',
      { outlierDetection: { consecutive5xx: 5 } },
      TypeError,
      /^outlierDetection got an unknown option "consecutive5xx"/,
    ],
    [
      'consecutiveFailures 0',
      { outlierDetection: { consecutiveFailures: 0 } },
      RangeError,
      /^outlierDetection.consecutiveFailures must be an integer >= 1, got 0$/,
    ],
    [
      'consecutiveFailures 2.5',
      { outlierDetection: { consecutiveFailures: 2.5 } },
      RangeError,
      /^outlierDetection.consecutiveFailures must be an integer >= 1, got 2.5$/,
    ],
    [
      'baseEjectionMs 0',
      { outlierDetection: { baseEjectionMs: 0 } },
      RangeError,
      /^outlierDetection.baseEjectionMs must be a finite number > 0, got 0$/,
    ],
    [
      'maxEjectionMs below base',
      { outlierDetection: { baseEjectionMs: 1_000, maxEjectionMs: 500 } },
      RangeError,
      /^outlierDetection.maxEjectionMs must be a finite number >= 1000, got 500$/,
    ],
    [
      'maxEjectionPercent 101',
      { outlierDetection: { maxEjectionPercent: 101 } },
      RangeError,
      /^outlierDetection.maxEjectionPercent must be a finite number >= 0 and <= 100, got 101$/,
    ],
    [
      'latencyFactor 1',
      { outlierDetection: { latencyFactor: 1 } },
      RangeError,
      /^outlierDetection.latencyFactor must be a finite number > 1, got 1$/,
    ],
    [
      'latencyWindowMs -5',
      { outlierDetection: { latencyWindowMs: -5 } },
      RangeError,
      /^outlierDetection.latencyWindowMs must be a finite number > 0, got -5$/,
    ],
    [
      'latencyMinSamples 0',
      { outlierDetection: { latencyMinSamples: 0 } },
      RangeError,
      /^outlierDetection.latencyMinSamples must be an integer >= 1, got 0$/,
    ],
  ])('rejects %s', (_label, options, type, message) => {
    expect(make(options)).toThrow(type);
    expect(make(options)).toThrow(message);
  });

  it('accepts every option at its bounds', () => {
    const pool = new Pool({
      endpoints: [],
      slowStartMs: 0,
      panicThreshold: 1,
      maxRetryAfterMs: 0,
      latencyDecayMs: 1,
      now: () => 0,
      random: () => 0.5,
      outlierDetection: {
        consecutiveFailures: 1,
        baseEjectionMs: 1,
        maxEjectionMs: 1,
        maxEjectionPercent: 0,
        latencyFactor: 1.01,
        latencyWindowMs: 1,
        latencyMinSamples: 1,
      },
    });
    expect(pool.endpoints).toEqual([]);
    expect(new Pool({ outlierDetection: true }).closed).toBe(false);
    expect(new Pool({ outlierDetection: false }).closed).toBe(false);
  });
});

describe('Pool: bad endpoints', () => {
  const A = 'http://127.0.0.1:9001';
  it.each([
    [
      'a malformed URL',
      ['http://127.0.0.1:9001', 'not a url'],
      TypeError,
      /^endpoints\[1\]: url must be an absolute URL, got "not a url"$/,
    ],
    [
      'a relative URL',
      ['/api'],
      TypeError,
      /^endpoints\[0\]: url must be an absolute URL, got "\/api"$/,
    ],
    [
      'a URL that is not a string',
      [{ url: 42 }],
      TypeError,
      /^endpoints\[0\]: url must be a string, got 42$/,
    ],
    [
      'a number',
      [42],
      TypeError,
      /^endpoints\[0\] must be a URL string or an object with a url, got 42$/,
    ],
    [
      'an unknown key',
      [{ url: A, wieght: 2 }],
      TypeError,
      /^endpoints\[0\] got an unknown option "wieght"; known options are "id", "url", "weight", "priority", "metadata"$/,
    ],
    [
      'weight 0',
      [{ url: A, weight: 0 }],
      RangeError,
      /^weight must be a finite number > 0, got 0 \(endpoint "http:\/\/127.0.0.1:9001"\)$/,
    ],
    [
      'weight -1',
      [{ url: A, weight: -1 }],
      RangeError,
      /^weight must be a finite number > 0, got -1 \(endpoint "http:\/\/127.0.0.1:9001"\)$/,
    ],
    [
      'weight NaN',
      [{ url: A, weight: Number.NaN }],
      RangeError,
      /^weight must be a finite number > 0, got NaN \(endpoint /,
    ],
    [
      'weight Infinity',
      [{ url: A, weight: Number.POSITIVE_INFINITY }],
      RangeError,
      /^weight must be a finite number > 0, got Infinity \(endpoint /,
    ],
    [
      'weight a string',
      [{ url: A, weight: '2' }],
      TypeError,
      /^weight must be a finite number > 0, got "2" \(endpoint /,
    ],
    [
      'priority -1',
      [{ url: A, priority: -1 }],
      RangeError,
      /^priority must be an integer >= 0, got -1 \(endpoint "http:\/\/127.0.0.1:9001"\)$/,
    ],
    [
      'priority 0.5',
      [{ url: A, priority: 0.5 }],
      RangeError,
      /^priority must be an integer >= 0, got 0.5 /,
    ],
    [
      'an empty id',
      [{ url: A, id: '' }],
      TypeError,
      /^id must be a non-empty string, got "" \(endpoints\[0\]\)$/,
    ],
    [
      'metadata not an object',
      [{ url: A, metadata: 'zone-a' }],
      TypeError,
      /^metadata must be an object, got "zone-a" \(endpoint "http:\/\/127.0.0.1:9001"\)$/,
    ],
    [
      'a duplicate id',
      [A, `${A}/`],
      RangeError,
      /^duplicate endpoint id "http:\/\/127.0.0.1:9001" at endpoints\[1\]$/,
    ],
    [
      'a duplicate explicit id',
      [
        { url: A, id: 'x' },
        { url: 'http://127.0.0.1:9002', id: 'x' },
      ],
      RangeError,
      /^duplicate endpoint id "x" at endpoints\[1\]$/,
    ],
  ])('rejects %s', (_label, endpoints, type, message) => {
    expect(make({ endpoints })).toThrow(type);
    expect(make({ endpoints })).toThrow(message);
  });

  it('add() and setWeight() validate the same way', () => {
    const pool = new Pool({ endpoints: urls(1) });
    expect(() => pool.add('nope')).toThrow(/^endpoint: url must be an absolute URL, got "nope"$/);
    expect(() => pool.add({ url: A, weight: -1 })).toThrow(RangeError);
    expect(() => pool.setWeight(A, -1)).toThrow(
      /^weight must be a finite number > 0, got -1 \(endpoint "http:\/\/127.0.0.1:9001"\)$/,
    );
    expect(() => pool.remove(A, { drian: true } as never)).toThrow(
      /^remove\(\) got an unknown option "drian"/,
    );
    expect(() => pool.remove(A, { drain: 'yes' } as never)).toThrow(
      /^drain must be a boolean, got "yes"$/,
    );
    expect(() => pool.setEndpoints('x' as never)).toThrow(
      /^setEndpoints\(\) expects an array of endpoints, got "x"$/,
    );
    expect(pool.endpoints.map((e) => e.id)).toEqual([A]);
  });
});
