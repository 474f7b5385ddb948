import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

it('every example says how to run it with the repository’s Node, and that command exists', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  // npm puts node_modules/.bin (the `node` devDependency) first on PATH: the system Node
  // may be older than the package supports.
  expect(pkg.scripts.example).toBe('tsup --silent && node');
  const examples = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.ts'));
  expect(examples.length).toBeGreaterThan(0);
  for (const name of examples) {
    const text = readFileSync(join(root, 'examples', name), 'utf8');
    const runs = text.split('\n').filter((line) => /^ \* Run\b/.test(line));
    expect(runs, name).toEqual([
      ` * Run (in a clone, after \`npm ci\`): npm run example examples/${name}`,
    ]);
  }
});
