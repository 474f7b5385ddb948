#!/usr/bin/env node
/**
 * The `switchyard` executable: `switchyard serve`, `switchyard check` and `switchyard demo`.
 * The first SIGINT (Ctrl-C) or SIGTERM ends the running command cleanly (`serve` drains);
 * a second one of either exits at once.
 * @module
 */
import { main } from './main.js';

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
