#!/usr/bin/env node
/**
 * The `switchyard` executable: `switchyard demo` (later `serve` and `check`). The first
 * Ctrl-C or SIGTERM ends the running command cleanly; a second Ctrl-C exits at once.
 * @module
 */
import { nodeVersionProblem } from '../node-version.js';

// Before anything loads undici: on a Node.js too old for it, one line and exit code 1.
const tooOld = nodeVersionProblem(process.versions.node);
if (tooOld !== undefined) {
  process.stderr.write(`${tooOld}\n`);
  process.exit(1);
}
const { main } = await import('./main.js');

const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    controller.abort();
    process.once(signal, () => process.exit(130));
  });
}
main(process.argv.slice(2), { signal: controller.signal }).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
