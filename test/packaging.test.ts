import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const entries: Record<string, string> = JSON.parse(
  readFileSync(join(root, 'scripts/entries.json'), 'utf8'),
);

const SELECTORS = [
  'RoundRobin',
  'WeightedRoundRobin',
  'Random',
  'WeightedRandom',
  'LeastConnections',
  'PowerOfTwoChoices',
  'PeakEwma',
  'RingHash',
  'Maglev',
  'Rendezvous',
];

describe('package.json', () => {
  it('exports exactly the entries of scripts/entries.json, each with types per condition', () => {
    const expected: Record<string, unknown> = { './package.json': './package.json' };
    for (const name of Object.keys(entries)) {
      expected[name === 'index' ? '.' : `./${name}`] = {
        import: { types: `./dist/${name}.d.ts`, default: `./dist/${name}.js` },
        require: { types: `./dist/${name}.d.cts`, default: `./dist/${name}.cjs` },
      };
    }
    expect(pkg.exports).toEqual(expected);
    expect(pkg.sideEffects).toBe(false);
    expect(pkg.files).toEqual(['dist', 'schema.json']);
    expect(pkg.engines.node).toBe('>=22.19');
  });

  it('keeps the core free of runtime dependencies other than undici', () => {
    expect(Object.keys(pkg.dependencies ?? {})).toEqual(['undici']);
  });
});

describe('built package (npm test builds first)', () => {
  const run = (code: string, type: 'module' | 'commonjs') =>
    execFileSync(process.execPath, [`--input-type=${type}`, '-e', code], {
      cwd: root,
      encoding: 'utf8',
    });

  it('require("switchyard") exposes the ten selectors', () => {
    const out = run(
      `const sy = require('switchyard'); console.log(JSON.stringify(${JSON.stringify(SELECTORS)}.filter((n) => typeof sy[n] === 'function')))`,
      'commonjs',
    );
    expect(JSON.parse(out)).toEqual(SELECTORS);
  });

  it('await import("switchyard") exposes the ten selectors', () => {
    const out = run(
      `const sy = await import('switchyard'); console.log(JSON.stringify(${JSON.stringify(SELECTORS)}.filter((n) => typeof sy[n] === 'function')))`,
      'module',
    );
    expect(JSON.parse(out)).toEqual(SELECTORS);
  });

  it('every subpath loads in both module systems', () => {
    for (const name of Object.keys(entries)) {
      const spec = name === 'index' ? 'switchyard' : `switchyard/${name}`;
      const cjs = run(`console.log(Object.keys(require('${spec}')).length)`, 'commonjs');
      const esm = run(`console.log(Object.keys(await import('${spec}')).length)`, 'module');
      expect(Number(cjs), spec).toBeGreaterThan(0);
      expect(Number(esm), spec).toBe(Number(cjs));
    }
  });
});

describe('core entry', () => {
  // Follows relative imports from src/index.ts: nothing reachable may import node: or undici.
  function graph(file: string, seen = new Set<string>()): Set<string> {
    if (seen.has(file)) return seen;
    seen.add(file);
    // Comments hold usage examples (`import … from 'switchyard'`), not imports.
    const text = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    for (const match of text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/g)) {
      const spec = match[1]!;
      if (spec.startsWith('.')) graph(resolve(dirname(file), spec.replace(/\.js$/, '.ts')), seen);
      else seen.add(`pkg:${spec}`);
    }
    return seen;
  }

  it('imports nothing from node: or undici, in source and in the build', () => {
    const reached = [...graph(join(root, 'src/index.ts'))];
    const external = reached.filter((f) => f.startsWith('pkg:'));
    expect(external).toEqual([]);
    // The build too, following the chunks that the core entry loads.
    const pending = ['index.js', 'index.cjs'];
    const read = new Set<string>();
    while (pending.length > 0) {
      const name = pending.pop()!;
      if (read.has(name)) continue;
      read.add(name);
      const text = readFileSync(join(root, 'dist', name), 'utf8');
      expect(text, name).not.toMatch(/(?:from |require\()['"](?:node:|undici)/);
      for (const m of text.matchAll(/(?:from |require\()['"]\.\/([^'"]+)['"]/g))
        pending.push(m[1]!);
    }
  });
});
