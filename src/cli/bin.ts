#!/usr/bin/env node
/**
 * The `switchyard` executable: `switchyard serve`, `switchyard check` and `switchyard demo`.
 * The first SIGINT (Ctrl-C) or SIGTERM ends the running command cleanly (`serve` drains);
 * a second one of either exits at once.
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
const signals = ['SIGINT', 'SIGTERM'] as const;
const exitNow = (signal: NodeJS.Signals) => process.exit(signal === 'SIGINT' ? 130 : 143);
const first = () => {
  controller.abort();
  for (const s of signals) {
    process.off(s, first);
    process.once(s, exitNow);
  }
};
for (const s of signals) process.on(s, first);
main(process.argv.slice(2), { signal: controller.signal }).then(
  (code) => {
    process.exitCode = code;
    // Whatever a library left running (a socket closing slowly) must not hold the exit.
    setTimeout(() => process.exit(code), 2_000).unref();
  },
  (error: unknown) => {
    process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
