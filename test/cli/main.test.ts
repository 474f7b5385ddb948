import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main, USAGE } from '../../src/cli/main.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (s: string) => void (stdout += s) },
    stderr: { write: (s: string) => void (stderr += s) },
  });
  return { code, stdout, stderr };
}

describe('switchyard command line', () => {
  it('prints the usage for --help, -h and help', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      expect(await cli(...args)).toEqual({ code: 0, stdout: USAGE, stderr: '' });
    }
    expect(USAGE).toMatch(/^ {2}demo /m);
    expect(USAGE).toMatch(/^ {2}serve --config FILE /m);
    expect(USAGE).toMatch(/^ {2}check FILE /m);
  });

  it('prints the version', async () => {
    expect(await cli('--version')).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('without a command, prints the usage to stderr and exits 2', async () => {
    expect(await cli()).toEqual({ code: 2, stdout: '', stderr: USAGE });
  });

  it.each([
    [['serve'], /^switchyard: serve needs --config FILE\n\nUsage:/],
    [['serve', '--config', 'x.json', 'extra'], /^switchyard: unexpected argument "extra"/],
    [
      ['serve', '--config', 'x.json', '--log-format', 'xml'],
      /^switchyard: --log-format must be "text" or "json", got "xml"/,
    ],
    [
      ['serve', '--config', 'x.json', '--drain-ms=-1'],
      /^switchyard: --drain-ms must be an integer >= 0 and <= 2147483647, got -1\n/,
    ],
    [
      ['serve', '--config', 'x.json', '--duration', '3'],
      /^switchyard: --duration is not an option of serve/,
    ],
    [['check'], /^switchyard: check takes one FILE/],
    [['check', 'a.json', 'b.json'], /^switchyard: check takes one FILE/],
    [['demo', '--config', 'x.json'], /^switchyard: --config is not an option of demo/],
    [['bogus'], /^switchyard: unknown command "bogus"/],
    [['demo', 'extra'], /^switchyard: unexpected argument "extra"/],
    [['demo', '--bogus'], /^switchyard: Unknown option '--bogus'/],
    [['demo', '--duration'], /^switchyard: Option '--duration <value>' argument missing/],
    [['demo', '--duration', 'soon'], /^switchyard: --duration must be .*, got NaN\n/],
    [['demo', '--duration', ''], /^switchyard: --duration must be .*, got NaN\n/],
    [
      ['demo', '--duration', '0.5'],
      /^switchyard: --duration must be a finite number >= 1 and <= 3600, got 0.5\n/,
    ],
    [
      ['demo', '--rate', '0'],
      /^switchyard: --rate must be a finite number >= 1 and <= 5000, got 0\n/,
    ],
  ])('%j is a usage mistake: message, usage, exit code 2', async (args, message) => {
    const { code, stdout, stderr } = await cli(...args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr.endsWith(USAGE)).toBe(true);
  });

  it('is built into dist/cli.js, the package bin, as an executable with a shebang', () => {
    expect(pkg.bin).toEqual({ switchyard: './dist/cli.js' });
    const file = join(root, 'dist/cli.js');
    expect(readFileSync(file, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(statSync(file).mode & 0o111).not.toBe(0);
    // Not a public subpath: the exports map stays generated from scripts/entries.json.
    expect(Object.keys(pkg.exports)).not.toContain('./cli');
    const out = execFileSync(process.execPath, [file, '--version'], { encoding: 'utf8' });
    expect(out).toBe(`${pkg.version}\n`);
  });
});
