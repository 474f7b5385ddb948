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
  });

  it('prints the version', async () => {
    expect(await cli('--version')).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('without a command, prints the usage to stderr and exits 2', async () => {
    expect(await cli()).toEqual({ code: 2, stdout: '', stderr: USAGE });
  });

  it.each([
    [['serve', '--config', 'x.json'], 'unknown option "--config"'],
    [['serve'], 'unknown command "serve"'],
    [['check', 'file.json'], 'unknown command "check"'],
    [['demo', 'extra'], 'unexpected argument "extra"'],
    [['demo', '--bogus'], 'unknown option "--bogus"'],
    [['demo', '-x'], 'unknown option "-x"'],
    [['demo', '--help=yes'], '--help takes no value'],
    [['demo', '--duration'], '--duration needs a value: a number of seconds from 1 to 3600'],
    [
      ['demo', '--duration', '--rate', '10'],
      '--duration needs a value: a number of seconds from 1 to 3600',
    ],
    [['demo', '--rate'], '--rate needs a value: a number of requests per second from 1 to 5000'],
    [
      ['demo', '--duration', 'soon'],
      '--duration must be a number of seconds from 1 to 3600 (like 30), got "soon"',
    ],
    [
      ['demo', '--duration', ''],
      '--duration must be a number of seconds from 1 to 3600 (like 30), got ""',
    ],
    [
      ['demo', '--duration', '0.5'],
      '--duration must be a number of seconds from 1 to 3600 (like 30), got "0.5"',
    ],
    [
      ['demo', '--duration', '10s'],
      '--duration must be a number of seconds from 1 to 3600 (like 30), got "10s"',
    ],
    [
      ['demo', '--duration=1e3'],
      '--duration must be a number of seconds from 1 to 3600 (like 30), got "1e3"',
    ],
    [
      ['demo', '--duration', '3601'],
      '--duration must be a number of seconds from 1 to 3600 (like 30), got "3601"',
    ],
    [
      ['demo', '--rate', '0'],
      '--rate must be a number of requests per second from 1 to 5000 (like 200), got "0"',
    ],
    [
      ['demo', '--rate', '0x10'],
      '--rate must be a number of requests per second from 1 to 5000 (like 200), got "0x10"',
    ],
  ])('%j is a usage mistake: the exact message, the usage, exit code 2', async (args, message) => {
    const { code, stdout, stderr } = await cli(...args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`switchyard: ${message}\n\n${USAGE}`);
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
