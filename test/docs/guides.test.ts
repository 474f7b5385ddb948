import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const guides = readdirSync(join(root, 'docs/guides')).filter((f) => f.endsWith('.md'));

it('typedoc renders every guide (and the benchmarks) as a page, not a raw media file', async () => {
  const { default: config } = (await import(join(root, 'typedoc.config.mjs'))) as {
    default: { projectDocuments?: string[] };
  };
  expect(config.projectDocuments).toEqual([
    'docs/architecture.md',
    'docs/guides/*.md',
    'docs/benchmarks.md',
  ]);
  expect(guides).toContain('migrating.md');
});

it('no guide, nor the README, links to docs/api (git-ignored, absent from a clone)', () => {
  for (const file of [
    ...guides.map((g) => `docs/guides/${g}`),
    'README.md',
    'docs/benchmarks.md',
    'docs/architecture.md',
  ]) {
    const text = readFileSync(join(root, file), 'utf8');
    const links = [...text.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1]!);
    expect(
      links.filter((l) => /(^|\/)api(\/|$)|docs\/api/.test(l)),
      file,
    ).toEqual([]);
  }
});
