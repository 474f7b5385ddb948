/**
 * Building blocks of the config definition: numbers with bounds, strict objects that hint
 * at the key meant, and the wording of their messages (`must be a number > 0`), so that
 * runtime errors, the TypeScript type and `schema.json` come from one place.
 * @internal
 */
import { z } from 'zod';

/** The longest delay a Node timer takes (2^31 − 1 ms). */
export const MAX_DELAY_MS = 2_147_483_647;

/** Bounds of a number in the config, as the API checks them. */
export interface Bounds {
  /** Smallest value. */
  readonly min?: number;
  /** `min` itself is refused. */
  readonly minExclusive?: boolean;
  /** Largest value. */
  readonly max?: number;
  /** Whole numbers only. */
  readonly integer?: boolean;
}

/** `must be a number > 0`, `must be an integer >= 1 and <= 65535`. */
export function boundsText(bounds: Bounds): string {
  const { min, minExclusive = false, max, integer = false } = bounds;
  let text = integer ? 'must be an integer' : 'must be a number';
  if (min !== undefined) text += ` ${minExclusive ? '>' : '>='} ${min}`;
  if (max !== undefined) text += `${min !== undefined ? ' and' : ''} <= ${max}`;
  return text;
}

/** A number within `bounds`, described for editors by `description`. */
export function num(description: string, bounds: Bounds) {
  const error = boundsText(bounds);
  let schema = z.number({ error });
  if (bounds.integer) schema = schema.int({ error });
  if (bounds.min !== undefined) {
    schema = bounds.minExclusive
      ? schema.gt(bounds.min, { error })
      : schema.gte(bounds.min, { error });
  }
  if (bounds.max !== undefined) schema = schema.lte(bounds.max, { error });
  return schema.describe(description);
}

/** A duration in ms that a timer can take: > 0 (or >= 0 with `zero`). */
export function ms(description: string, zero = false) {
  return num(description, { min: 0, minExclusive: !zero, max: MAX_DELAY_MS });
}

/** A non-empty string. */
export function text(description: string) {
  return z
    .string({ error: 'must be a non-empty string' })
    .min(1, { error: 'must be a non-empty string' })
    .describe(description);
}

/** A boolean. */
export function bool(description: string) {
  return z.boolean({ error: 'must be true or false' }).describe(description);
}

/** One of `values`, named in the message. */
export function oneOf<const T extends readonly [string, ...string[]]>(
  values: T,
  description: string,
) {
  const error = `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return z.enum(values, { error }).describe(description);
}

/**
 * A strict object: an unknown key is an error, with the nearest known key as a hint. The
 * message holds one line per unknown key, in the issue's order (`issues.ts` splits it).
 */
export function strict<T extends z.core.$ZodLooseShape>(shape: T, description: string) {
  const known = Object.keys(shape);
  return z
    .strictObject(shape, {
      error: (issue) => {
        if (issue.code !== 'unrecognized_keys') return 'must be an object';
        return issue.keys.map((key) => unknownKey(key, known)).join('\n');
      },
    })
    .describe(description);
}

/** `unknown key (did you mean "endpoints"?)` when a known key is close, else the list. */
export function unknownKey(key: string, known: readonly string[]): string {
  const near = nearest(key, known);
  if (near !== undefined) return `unknown key (did you mean "${near}"?)`;
  return `unknown key; known keys are ${known.map((k) => `"${k}"`).join(', ')}`;
}

/** The known key within a small edit distance of `key` (or differing only in case). */
export function nearest(key: string, known: readonly string[]): string | undefined {
  if (key.length < 2) return undefined;
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(key.length / 4)) + 1;
  for (const candidate of known) {
    const a = key.toLowerCase();
    const b = candidate.toLowerCase();
    // A key cut short or run on (`token` for `tokenEnv`) counts as one edit.
    const prefix = (b.startsWith(a) || a.startsWith(b)) && Math.abs(a.length - b.length) <= 4;
    const d = a === b ? 0 : prefix ? 1 : a.length < 3 ? Number.POSITIVE_INFINITY : distance(a, b);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance with adjacent transpositions (optimal string alignment). */
function distance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(
        d[(i - 1) * cols + j]! + 1,
        d[i * cols + j - 1]! + 1,
        d[(i - 1) * cols + j - 1]! + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, d[(i - 2) * cols + j - 2]! + 1);
      }
      d[i * cols + j] = v;
    }
  }
  return d[rows * cols - 1]!;
}
