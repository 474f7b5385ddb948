/**
 * Reads a config file (JSON or YAML) and validates it against {@link configSchema}.
 * @internal
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';
import { configSchema, type SwitchyardConfig } from './config-schema.js';
import { crossCheck } from './cross-checks.js';
import { type ConfigIssue, collectIssues, formatIssue } from './issues.js';

/** The outcome of {@link loadConfig}: the config, or every problem found. */
export type LoadResult =
  | { readonly ok: true; readonly config: SwitchyardConfig }
  | {
      readonly ok: false;
      /** The file could not be read or parsed: one line, with `line:column` when known. */
      readonly fatal?: string;
      /** Every validation problem, in file order. */
      readonly issues: readonly ConfigIssue[];
    };

/** Which syntax a file is in: by its extension, else by its first character. */
export function syntaxOf(file: string, text: string): 'json' | 'yaml' {
  const ext = extname(file).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.yaml' || ext === '.yml') return 'yaml';
  return /^\s*[{[]/.test(text.replace(/^\uFEFF/, '')) ? 'json' : 'yaml';
}

/** Parses `text` as JSON or YAML; throws an Error whose message is one line with the position. */
export function parseText(file: string, text: string): unknown {
  const body = text.replace(/^\uFEFF/, '');
  if (syntaxOf(file, body) === 'json') {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch (error) {
      const message = (error as Error).message;
      const at = /at position (\d+)/.exec(message);
      const offset = at ? Number(at[1]) : body.length;
      const { line, column } = position(body, offset);
      const reason = message
        .replace(/\s*(?:in JSON )?at position \d+.*$/s, '')
        .replace(/^JSON\.parse: /, '');
      throw new Error(`${file}:${line}:${column}: invalid JSON: ${reason}`);
    }
    // JSON.parse keeps the last of two equal keys without a word; a config must not.
    const duplicate = parseDocument(body, { prettyErrors: true, uniqueKeys: true }).errors.find(
      (e) => e.code === 'DUPLICATE_KEY',
    );
    if (duplicate !== undefined) {
      const pos = duplicate.linePos?.[0];
      throw new Error(
        `${file}:${pos ? `${pos.line}:${pos.col}` : '1:1'}: invalid JSON: a key appears twice in one object`,
      );
    }
    return value;
  }
  const doc = parseDocument(body, { prettyErrors: true, uniqueKeys: true, strict: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    const pos = first.linePos?.[0];
    const where = pos ? `${pos.line}:${pos.col}` : '1:1';
    const reason = first.message
      .split('\n')[0]!
      .replace(/ at line \d+, column \d+:?$/, '')
      .replace(/:$/, '');
    throw new Error(`${file}:${where}: invalid YAML: ${reason}`);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // An alias bomb ("billion laughs") and the like: refused, not expanded.
    throw new Error(`${file}:1:1: invalid YAML: ${(error as Error).message}`);
  }
}

/** Validates an already parsed config. */
export function validateConfig(input: unknown): LoadResult {
  const result = configSchema.safeParse(input);
  const issues = [
    ...(result.success ? [] : collectIssues(result.error, input)),
    ...crossCheck(input),
  ];
  if (result.success && issues.length === 0) return { ok: true, config: result.data };
  return { ok: false, issues };
}

/**
 * Reads, parses and validates the config file at `file`. Never throws: an unreadable file
 * or a syntax error is `fatal`, validation problems are `issues`.
 */
export async function loadConfig(file: string): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    const reason =
      e.code === 'ENOENT'
        ? 'no such file'
        : e.code === 'EISDIR'
          ? 'is a directory'
          : e.code === 'EACCES'
            ? 'permission denied'
            : e.message;
    return { ok: false, fatal: `${file}: cannot read: ${reason}`, issues: [] };
  }
  let input: unknown;
  try {
    input = parseText(file, text);
  } catch (error) {
    return { ok: false, fatal: (error as Error).message, issues: [] };
  }
  return validateConfig(input);
}

/** The lines to print for a failed {@link LoadResult}. */
export function describeFailure(result: Extract<LoadResult, { ok: false }>): string[] {
  return result.fatal !== undefined ? [result.fatal] : result.issues.map(formatIssue);
}

function position(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}
