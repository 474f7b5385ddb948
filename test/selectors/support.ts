import type { SelectorEndpoint } from '../../src/selectors/selector.js';

/** Mulberry32: a tiny seeded source of uniform numbers in [0, 1) for deterministic tests. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A source that returns the given numbers in turn, forever. */
export function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

/** A mutable endpoint, as the pool keeps them. */
export interface TestEndpoint extends SelectorEndpoint {
  id: string;
  weight: number;
  inflight: number;
  latency: number;
}

/** Endpoints named by `ids`, weight 1, idle, latency unknown, unless overridden. */
export function endpoints(
  ids: readonly string[],
  fields: Partial<Record<'weight' | 'inflight' | 'latency', readonly number[]>> = {},
): TestEndpoint[] {
  return ids.map((id, i) => ({
    id,
    weight: fields.weight?.[i] ?? 1,
    inflight: fields.inflight?.[i] ?? 0,
    latency: fields.latency?.[i] ?? 0,
  }));
}

/** Picks `count` times and returns the ids, `-` for undefined. */
export function ids(
  selector: { pick(context?: { exclude?: ReadonlySet<string> }): SelectorEndpoint | undefined },
  count: number,
  context?: { exclude?: ReadonlySet<string> },
): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(selector.pick(context)?.id ?? '-');
  return out;
}

/** Picks `count` times and counts picks per id. */
export function tally(
  selector: { pick(context?: { exclude?: ReadonlySet<string> }): SelectorEndpoint | undefined },
  count: number,
  context?: { exclude?: ReadonlySet<string> },
): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const id = selector.pick(context)?.id ?? '-';
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/**
 * The bad inputs every selector must reject on update(), with a pattern for the message:
 * it names the field and quotes the value.
 */
export const BAD_ENDPOINTS: ReadonlyArray<readonly [string, unknown[], RegExp, ErrorConstructor]> =
  [
    [
      'weight 0',
      [{ id: 'a', weight: 0, inflight: 0, latency: 0 }],
      /weight .*got 0 \(endpoint "a"\)/,
      RangeError,
    ],
    [
      'weight -1',
      [{ id: 'a', weight: -1, inflight: 0, latency: 0 }],
      /weight .*got -1 \(endpoint "a"\)/,
      RangeError,
    ],
    [
      'weight NaN',
      [{ id: 'a', weight: Number.NaN, inflight: 0, latency: 0 }],
      /weight .*got NaN/,
      RangeError,
    ],
    [
      'weight Infinity',
      [{ id: 'a', weight: Number.POSITIVE_INFINITY, inflight: 0, latency: 0 }],
      /weight .*got Infinity/,
      RangeError,
    ],
    [
      'weight "3"',
      [{ id: 'a', weight: '3', inflight: 0, latency: 0 }],
      /weight .*got "3"/,
      TypeError,
    ],
    [
      'duplicate id',
      [
        { id: 'a', weight: 1, inflight: 0, latency: 0 },
        { id: 'a', weight: 1, inflight: 0, latency: 0 },
      ],
      /duplicate endpoint id "a"/,
      RangeError,
    ],
    [
      'empty id',
      [{ id: '', weight: 1, inflight: 0, latency: 0 }],
      /id must be a non-empty string, got ""/,
      TypeError,
    ],
  ];
