import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
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

  it('maps every subpath of scripts/entries.json in typesVersions (moduleResolution "node")', () => {
    // TypeScript's `node`/`node10` resolution ignores `exports`: without this map,
    // `import … from 'switchyard/http'` has no types there. CommonJS declarations, as `types`.
    const expected: Record<string, string[]> = {};
    for (const name of Object.keys(entries)) {
      if (name !== 'index') expected[name] = [`./dist/${name}.d.cts`];
    }
    expect(pkg.typesVersions).toEqual({ '*': expected });
    expect(pkg.types).toBe('./dist/index.d.cts');
  });

  it('runs attw with its default profile (node10 included)', () => {
    expect(pkg.scripts.attw).toBe('attw --pack .');
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

  // undici is loaded on first use (src/http/shared/undici.ts): a proxy to http: endpoints
  // never loads it. `require.cache` holds CommonJS modules for both module systems.
  const UNDICI_LOADED = `Object.keys(require('node:module')._cache).some((f) => f.includes('/node_modules/undici/'))`;

  it('no entry loads undici until something needs it', () => {
    for (const name of Object.keys(entries)) {
      if (name === 'testing') continue; // fast-check, not undici; loads no HTTP code
      const spec = name === 'index' ? 'switchyard' : `switchyard/${name}`;
      const cjs = run(`require('${spec}'); console.log(${UNDICI_LOADED})`, 'commonjs');
      const esm = run(
        `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); await import('${spec}'); console.log(${UNDICI_LOADED})`,
        'module',
      );
      expect(cjs.trim(), spec).toBe('false');
      expect(esm.trim(), spec).toBe('false');
    }
  });

  it('a balanced dispatcher is an undici Dispatcher, with its methods, in both module systems', () => {
    const check = `const d = createBalancedDispatcher(new Pool({ endpoints: ['http://127.0.0.1:1'] }));
      console.log(JSON.stringify([d instanceof Dispatcher, d instanceof BalancedDispatcher, typeof d.request, typeof d.compose, Object.getPrototypeOf(BalancedDispatcher) === Dispatcher]));
      d.destroy();`;
    const cjs = run(
      `const { createBalancedDispatcher, BalancedDispatcher } = require('switchyard/http'); const { Pool } = require('switchyard'); const { Dispatcher } = require('undici'); ${check}`,
      'commonjs',
    );
    const esm = run(
      `import { createBalancedDispatcher, BalancedDispatcher } from 'switchyard/http'; import { Pool } from 'switchyard'; import { Dispatcher } from 'undici'; ${check}`,
      'module',
    );
    expect(JSON.parse(cjs)).toEqual([true, true, 'function', 'function', true]);
    expect(JSON.parse(esm)).toEqual([true, true, 'function', 'function', true]);
  });
});

describe('a TypeScript consumer with moduleResolution "node" (npm test builds first)', () => {
  it('type-checks imports of every entry against the built declarations', () => {
    for (const name of Object.keys(entries)) {
      expect(existsSync(join(root, 'dist', `${name}.d.cts`)), `dist/${name}.d.cts`).toBe(true);
    }
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-node10-'));
    try {
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(root, join(dir, 'node_modules', 'switchyard'), 'dir');
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: 'commonjs',
            moduleResolution: 'node',
            target: 'es2022',
            lib: ['es2022'],
            strict: true,
            noEmit: true,
            types: ['node'],
            typeRoots: [join(root, 'node_modules/@types')],
            // Our declarations and their dependencies' are checked by attw and tsc elsewhere;
            // here the question is whether `switchyard/…` resolves to types at all.
            skipLibCheck: true,
          },
          files: ['consumer.ts'],
        }),
      );
      // One namespace import per entry (so a new entry is covered), then real use of a few.
      const lines = Object.keys(entries).map((name, i) => {
        const spec = name === 'index' ? 'switchyard' : `switchyard/${name}`;
        return `import * as entry${i} from '${spec}';\nexport const keys${i}: (keyof typeof entry${i})[] = [];`;
      });
      lines.push(
        `import { Pool, RoundRobin } from 'switchyard';`,
        `import { createProxyHandler, type ProxyHandler } from 'switchyard/http';`,
        `const pool = new Pool({ endpoints: ['http://127.0.0.1:1'], selector: new RoundRobin() });`,
        `export const handler: ProxyHandler = createProxyHandler(pool);`,
        `// @ts-expect-error: a typed API refuses a number of endpoints`,
        `new Pool({ endpoints: 42 });`,
      );
      writeFileSync(join(dir, 'consumer.ts'), `${lines.join('\n')}\n`);
      const tsc = join(root, 'node_modules/typescript/bin/tsc');
      let output = '';
      try {
        execFileSync(process.execPath, [tsc, '-p', dir], { cwd: dir, encoding: 'utf8' });
      } catch (error) {
        output = `${(error as { stdout?: string }).stdout ?? ''}${(error as Error).message}`;
      }
      expect(output).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
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
