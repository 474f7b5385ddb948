import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Runs `examples/<name>` as a user would, against the built package (npm test builds
 * first): Node strips the types, and `switchyard` resolves to this package through
 * `exports`. Rejects when it exits non-zero or runs past `timeoutMs`.
 */
export async function runExample(
  name: string,
  timeoutMs = 30_000,
): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [`examples/${name}`], {
    cwd: root,
    timeout: timeoutMs,
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  });
}
