import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The ```ts block under `heading` in README.md. */
function snippet(heading: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const at = readme.indexOf(`\n${heading}\n`);
  expect(at, heading).toBeGreaterThan(-1);
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  return block![1]!;
}

/**
 * Type-checks `code` as a user's module would be, against the built package (npm test
 * builds first), with TypeScript's default library for the target — DOM included, so the
 * global `fetch` and `RequestInit` are the browser's — plus Node's types.
 */
function typeErrors(name: string, code: string): string[] {
  const dir = join(root, '.tmp');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, code);
  const program = ts.createProgram([file], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
  });
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

const prelude = `import { Pool } from 'switchyard';\ndeclare const usersPool: Pool;\n`;

it('the README’s outbound fetch snippet type-checks with the default lib (DOM)', () => {
  const code = `${prelude}${snippet('### Outbound calls')}\nexport {};\n`;
  expect(code).toContain("import { fetch } from 'undici';");
  expect(typeErrors('readme-outbound', code)).toEqual([]);
}, 60_000);

it('with the global fetch, the cast the README gives type-checks, and the bare option does not', () => {
  const body = `import { createBalancedDispatcher } from 'switchyard/http';\nconst users = createBalancedDispatcher(usersPool);\n`;
  const cast = `${prelude}${body}await fetch('http://users/', { dispatcher: users } as RequestInit);\nexport {};\n`;
  expect(typeErrors('readme-global-cast', cast)).toEqual([]);
  const bare = `${prelude}${body}await fetch('http://users/', { dispatcher: users });\nexport {};\n`;
  expect(typeErrors('readme-global-bare', bare).map((e) => e.slice(0, 6))).toEqual(['TS2769']);
}, 60_000);
