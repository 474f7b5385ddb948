/**
 * Eager validation shared by every layer. Messages name the option and quote the value:
 * `weight must be a finite number > 0, got -1 (endpoint "a")`.
 * @internal
 */

/** Renders a value for an error message: strings quoted, everything else readable. */
export function quote(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (value === null || value === undefined || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `array of ${value.length}`;
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function where(context: string | undefined): string {
  return context ? ` (${context})` : '';
}

/** Throws a `TypeError` unless `options` is undefined or a plain object with only `allowed` keys. */
export function checkOptions(
  owner: string,
  options: unknown,
  allowed: readonly string[],
): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${owner} options must be an object, got ${quote(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new TypeError(
        `${owner} got an unknown option ${quote(key)}; known options are ${allowed.map((k) => quote(k)).join(', ') || 'none'}`,
      );
    }
  }
  return options as Record<string, unknown>;
}

/** Number bounds for {@link checkNumber}. */
export interface NumberBounds {
  /** Smallest allowed value. */
  readonly min?: number;
  /** When true, `min` itself is not allowed. */
  readonly minExclusive?: boolean;
  /** Largest allowed value. */
  readonly max?: number;
  /** Whole numbers only. */
  readonly integer?: boolean;
  /** Allow `Infinity` (only ever as the upper bound). */
  readonly allowInfinity?: boolean;
}

/** Throws a `TypeError`/`RangeError` unless `value` is a number within `bounds`. */
export function checkNumber(
  name: string,
  value: unknown,
  bounds: NumberBounds = {},
  context?: string,
): number {
  const { min, minExclusive = false, max, integer = false, allowInfinity = false } = bounds;
  let want = integer ? 'an integer' : 'a finite number';
  if (min !== undefined) want += ` ${minExclusive ? '>' : '>='} ${min}`;
  if (max !== undefined) want += `${min !== undefined ? ' and' : ''} <= ${max}`;
  if (typeof value !== 'number') {
    throw new TypeError(`${name} must be ${want}, got ${quote(value)}${where(context)}`);
  }
  const ok =
    !Number.isNaN(value) &&
    (Number.isFinite(value) || (allowInfinity && value === Number.POSITIVE_INFINITY)) &&
    (!integer || Number.isInteger(value) || value === Number.POSITIVE_INFINITY) &&
    (min === undefined || (minExclusive ? value > min : value >= min)) &&
    (max === undefined || value <= max);
  if (!ok) throw new RangeError(`${name} must be ${want}, got ${quote(value)}${where(context)}`);
  return value;
}

/** Throws a `TypeError` unless `value` is a function. */
export function checkFunction<T>(name: string, value: unknown, context?: string): T {
  if (typeof value !== 'function') {
    throw new TypeError(`${name} must be a function, got ${quote(value)}${where(context)}`);
  }
  return value as T;
}

/** Throws a `TypeError` unless `value` is a boolean. */
export function checkBoolean(name: string, value: unknown, context?: string): boolean {
  if (typeof value !== 'boolean') {
    throw new TypeError(`${name} must be a boolean, got ${quote(value)}${where(context)}`);
  }
  return value;
}

/** Throws a `TypeError` unless `value` is a non-empty string. */
export function checkString(name: string, value: unknown, context?: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${name} must be a non-empty string, got ${quote(value)}${where(context)}`);
  }
  return value;
}

/**
 * Reads an optional number option of a checked options object: `fallback` when it is
 * absent, else the value, which must be within `bounds` (see {@link checkNumber}).
 * @param name - how messages call the option. @default key
 * @example
 * ```ts
 * const intervalMs = numberOption(o, 'intervalMs', 5_000, { min: 0, minExclusive: true });
 * ```
 */
export function numberOption(
  options: Readonly<Record<string, unknown>>,
  key: string,
  fallback: number,
  bounds: NumberBounds,
  name: string = key,
): number {
  const value = options[key];
  return value === undefined ? fallback : checkNumber(name, value, bounds);
}

/**
 * Reads an optional function option of a checked options object: `fallback` when it is
 * absent, else the value, which must be a function.
 * @example
 * ```ts
 * const now = functionOption(o, 'now', Date.now);
 * ```
 */
export function functionOption<T>(
  options: Readonly<Record<string, unknown>>,
  key: string,
  fallback: T,
): T {
  const value = options[key];
  return value === undefined ? fallback : checkFunction<T>(key, value);
}

const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'\\]+@/gi;

/**
 * Masks the credentials of every URL in `text` (`http://user:secret@host` becomes
 * `http://***@host`): endpoint URLs may carry them, and no log line or error message may.
 * The one rule the adapters, the command line and the config checks share.
 * @internal
 */
export function redactCredentials(text: string): string {
  return text.replace(USERINFO, '$1***@');
}
