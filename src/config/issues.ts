/**
 * Turns validation issues into the lines `switchyard check` prints:
 * `pools.app.endpoints[1].weight: must be a number > 0, got -1`.
 * @internal
 */
import type { z } from 'zod';
import { quote, redactCredentials } from '../validate.js';
import { nearest } from './rules.js';

/** One problem in a config file. */
export interface ConfigIssue {
  /** Where, as written in a JavaScript accessor: `pools.app.endpoints[1].weight`. */
  readonly path: string;
  /** What is wrong: `must be a number > 0`. */
  readonly message: string;
  /** The value found there (`undefined` when the key is missing). */
  readonly value: unknown;
}

type Key = PropertyKey;

/** `path: message, got value` (`got nothing` for a missing key); URL credentials masked. */
export function formatIssue(issue: ConfigIssue): string {
  const got = issue.value === undefined ? 'nothing' : quote(issue.value);
  return redactCredentials(`${issue.path || '(the file)'}: ${issue.message}, got ${got}`);
}

/** Renders a path: `pools.app.endpoints[1].weight`; odd keys are quoted (`pools["my app"]`). */
export function formatPath(path: readonly Key[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key))
      out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** Every issue of a failed parse, unions resolved to the branch the input was meant for. */
export function collectIssues(error: z.ZodError, input: unknown): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) flatten(issue, [], input, out);
  // The same place reported twice (a refinement repeating a type error) is said once.
  const seen = new Set<string>();
  return out.filter((i) => {
    const key = `${i.path}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function flatten(
  issue: z.core.$ZodIssue,
  base: readonly Key[],
  input: unknown,
  out: ConfigIssue[],
): void {
  const path = [...base, ...issue.path];
  if (issue.code === 'unrecognized_keys') {
    const messages = issue.message.split('\n');
    issue.keys.forEach((key, i) => {
      const at = [...path, key];
      out.push({
        path: formatPath(at),
        message: messages[i] ?? 'unknown key',
        value: valueAt(input, at),
      });
    });
    return;
  }
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const branch = chooseBranch(issue.errors, valueAt(input, path));
    if (branch !== undefined) {
      for (const inner of branch) flatten(inner, path, input, out);
      return;
    }
  }
  const value = valueAt(input, path);
  let message = issue.message;
  if (issue.code === 'invalid_type' && value === undefined) message = 'is required';
  if (issue.code === 'invalid_value' && typeof value === 'string') {
    const near = nearest(
      value,
      issue.values.filter((v): v is string => typeof v === 'string'),
    );
    if (near !== undefined) message += ` (did you mean "${near}"?)`;
  }
  out.push({ path: formatPath(path), message, value });
}

/**
 * The branch of a union that the input was meant for: not one refused for its very type
 * (a string where an object was wanted), and among the others the one with the fewest
 * problems. `undefined` when every branch refused the type: the union's own message then
 * says what is expected.
 */
function chooseBranch(
  branches: readonly (readonly z.core.$ZodIssue[])[],
  value: unknown,
): readonly z.core.$ZodIssue[] | undefined {
  let best: readonly z.core.$ZodIssue[] | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const branch of branches) {
    // A value of the right type that is not one of the allowed ones (a misspelt name) is
    // this branch's to report; a value of another type is not.
    const refusedType = branch.some(
      (i) =>
        i.path.length === 0 &&
        (i.code === 'invalid_type' ||
          (i.code === 'invalid_value' && !i.values.some((v) => typeof v === typeof value))),
    );
    if (refusedType) continue;
    if (branch.length < bestScore) {
      best = branch;
      bestScore = branch.length;
    }
  }
  return best;
}

function valueAt(input: unknown, path: readonly Key[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<Key, unknown>)[key];
  }
  return value;
}
