import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, tempDir } from './serve-support.js';

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const entries: Record<string, string> = JSON.parse(
  readFileSync(join(root, 'scripts/entries.json'), 'utf8'),
);

describe('packaging of the command line (npm test builds first)', () => {
  it('keeps zod and yaml devDependencies, out of the library', () => {
    for (const name of ['zod', 'yaml']) {
      expect(pkg.devDependencies[name]).toBeDefined();
      expect(pkg.dependencies?.[name]).toBeUndefined();
      expect(pkg.peerDependencies?.[name]).toBeUndefined();
    }
    for (const entry of Object.keys(entries)) {
      for (const ext of ['js', 'cjs']) {
        const code = readFileSync(join(root, `dist/${entry}.${ext}`), 'utf8');
        expect(code, `dist/${entry}.${ext}`).not.toMatch(
          /from ['"](zod|yaml)['"]|require\(['"](zod|yaml)['"]\)|ZodError|\$ZodType/,
        );
      }
    }
  });

  it('import "switchyard" loads no config code', () => {
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "await import('switchyard'); await import('switchyard/http'); console.log(JSON.stringify(Object.keys(globalThis).filter((k) => /zod|yaml/i.test(k))))",
      ],
      { cwd: root, encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual([]);
  });

  it('dist/cli.js runs with neither zod nor yaml installed (they are bundled)', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'dist'));
    copyFileSync(join(root, 'dist/cli.js'), join(dir, 'dist/cli.js'));
    // The commands load from chunks beside the bin.
    cpSync(join(root, 'dist/cli-chunks'), join(dir, 'dist/cli-chunks'), { recursive: true });
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'switchyard', version: pkg.version, type: 'module' }),
    );
    // Only the runtime dependency is installed.
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(join(root, 'node_modules/undici'), join(dir, 'node_modules/undici'));
    copyFileSync(join(root, 'examples/serve/switchyard.yaml'), join(dir, 'lb.yaml'));
    const out = execFileSync(process.execPath, ['dist/cli.js', 'check', 'lb.yaml'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(out).toBe('lb.yaml: ok\n');
    expect(
      execFileSync(process.execPath, ['dist/cli.js', '--version'], { cwd: dir, encoding: 'utf8' }),
    ).toBe(`${pkg.version}\n`);
  });
});
