/**
 * The command line's logger: one line per event on stderr, as text for people or as one
 * JSON object per line for machines. Its methods take pino's arguments (`fields, msg`), so
 * a pino-compatible logger can stand in for it.
 * URL credentials are masked in every line (`http://***@host`).
 * @internal
 */
import { redactCredentials } from '../../config/index.js';

/** Fields of a log line. */
export type LogFields = Readonly<Record<string, unknown>>;

/** Levels, least to most severe. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** How lines are written: `text` (`time level msg key=value …`) or `json`. */
export type LogFormat = 'text' | 'json';

/** A logger with pino's calling convention. */
export interface Logger {
  /** Logs at `debug`. */
  debug(fields: LogFields, msg: string): void;
  /** Logs at `info`. */
  info(fields: LogFields, msg: string): void;
  /** Logs at `warn`. */
  warn(fields: LogFields, msg: string): void;
  /** Logs at `error`. */
  error(fields: LogFields, msg: string): void;
}

/** Where lines go (`process.stderr` by default). */
export interface LogSink {
  /** Writes one chunk. */
  write(chunk: string): unknown;
}

/**
 * Creates a logger writing to `sink` in `format`; `debug` lines only with `debug: true`.
 * @example
 * ```ts
 * const log = createLogger('json', process.stderr);
 * log.info({ listener: '127.0.0.1:8080', pool: 'app' }, 'listening');
 * ```
 */
export function createLogger(
  format: LogFormat,
  sink: LogSink,
  options: {
    readonly debug?: boolean;
    readonly now?: () => Date;
    /** Fields every line carries after its own (`serve --workers`: `worker=2`). */
    readonly fields?: LogFields;
  } = {},
): Logger {
  const now = options.now ?? (() => new Date());
  const base = options.fields;
  const line = (level: LogLevel, own: LogFields, msg: string): void => {
    const time = now().toISOString();
    const fields = base === undefined ? own : { ...own, ...base };
    if (format === 'json') {
      sink.write(`${redactCredentials(safeJson({ time, level, msg, ...plain(fields) }))}\n`);
      return;
    }
    let out = `${time} ${level.padEnd(5)} ${msg}`;
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined) out += ` ${key}=${textValue(value)}`;
    }
    sink.write(`${redactCredentials(out)}\n`);
  };
  return {
    debug: (fields, msg) => {
      if (options.debug) line('debug', fields, msg);
    },
    info: (fields, msg) => line('info', fields, msg),
    warn: (fields, msg) => line('warn', fields, msg),
    error: (fields, msg) => line('error', fields, msg),
  };
}

/** Errors become their message (and code); everything else stays as it is. */
function plain(fields: LogFields): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? errorFields(value) : value;
  }
  return out;
}

function errorFields(error: Error): Record<string, unknown> {
  const code = (error as { code?: unknown }).code;
  return code === undefined ? { message: error.message } : { message: error.message, code };
}

function textValue(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message);
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return safeJson(value);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return JSON.stringify(String(value));
  }
}
