import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { MIN_NODE_VERSION, nodeVersionProblem } from '../src/node-version.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Runs the built package under a Node.js that says it is `version`. */
async function runAs(
  version: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const pretend = `data:text/javascript,Object.defineProperty(process.versions,"node",{value:${JSON.stringify(version)}})`;
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', pretend, ...args],
      { cwd: root, env: { ...process.env, NODE_NO_WARNINGS: '1' } },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the oldest Node.js', () => {
  it('is 22.19 (undici 8), as package.json engines says', () => {
    expect(MIN_NODE_VERSION).toBe('22.19.0');
    for (const ok of ['22.19.0', '22.19.1', '22.20.0', '23.0.0', '24.21.0', '26.1.0']) {
      expect(nodeVersionProblem(ok), ok).toBeUndefined();
    }
    for (const old of ['22.18.9', '22.12.0', '22.0.0', '20.20.2', '18.0.0']) {
      expect(nodeVersionProblem(old)).toBe(
        `switchyard needs Node.js >= 22.19.0 (undici 8 does); this is Node.js v${old}`,
      );
    }
  });

  it('the CLI refuses an older one with exactly one line on stderr and exit code 1', async () => {
    const result = await runAs('22.12.0', ['dist/cli.js', '--version']);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'switchyard needs Node.js >= 22.19.0 (undici 8 does); this is Node.js v22.12.0\n',
    });
    expect((await runAs('22.19.0', ['dist/cli.js', '--version'])).code).toBe(0);
  });

  it('the Node entries fail on import with that line, ESM and CommonJS, before loading undici', async () => {
    for (const entry of ['switchyard/http', 'switchyard/tcp', 'switchyard/fastify']) {
      for (const code of [
        `import(${JSON.stringify(entry)}).catch((e) => { console.log(e.message); process.exit(3); })`,
        `try { require(${JSON.stringify(entry)}) } catch (e) { console.log(e.message); process.exit(3); }`,
      ]) {
        const result = await runAs('20.20.2', ['-e', code]);
        expect(result.stdout, `${entry}: ${code}`).toBe(
          'switchyard needs Node.js >= 22.19.0 (undici 8 does); this is Node.js v20.20.2\n',
        );
        expect(result.code).toBe(3);
      }
    }
    // The core runs anywhere: no check there.
    const core = await runAs('20.0.0', [
      '-e',
      `import('switchyard').then(() => console.log('ok'))`,
    ]);
    expect(core.stdout).toBe('ok\n');
  });
});
