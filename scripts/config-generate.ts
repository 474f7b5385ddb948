/**
 * Writes what is generated from the config definition (src/config/config-schema.ts):
 * `schema.json` at the repository root and the reference table of docs/guides/serve.md
 * (between its `config-reference` markers). test/config/generated.test.ts fails when
 * either is stale.
 *
 * Run: npm run config:generate
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.tmp', 'config-document.mjs');
// The definition is TypeScript with `.js` specifiers: bundle it (zod included) to run it.
await build({
  entryPoints: [join(root, 'src/config/config-document.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  outfile: out,
  logLevel: 'warning',
});
const { configJsonSchemaText, configReference, replaceReference } = await import(
  pathToFileURL(out).href
);

writeFileSync(join(root, 'schema.json'), configJsonSchemaText());
const guide = join(root, 'docs/guides/serve.md');
writeFileSync(guide, replaceReference(readFileSync(guide, 'utf8'), configReference()));
console.log('wrote schema.json and the reference of docs/guides/serve.md');
