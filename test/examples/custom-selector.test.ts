import { execFile } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

// Runs the example as a user would, against the built package (npm test builds first):
// Node strips the types, and `switchyard` resolves to this package through `exports`.
it('examples/custom-selector.ts checks its selector and prints the comparison table', async () => {
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ['examples/custom-selector.ts'],
    { cwd: root, timeout: 60_000, env: { ...process.env, NODE_NO_WARNINGS: '1' } },
  );
  expect(stderr).toBe('');
  expect(stdout).toMatch(
    /^LeastLatency keeps the laws: eligibility, determinism, recovery, least-loaded, load-spread$/m,
  );
  const rows = new Map<string, number[]>();
  for (const line of stdout.split('\n')) {
    const match = /^(\w+)\s+([\d.]+) %\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$/.exec(line);
    if (match) rows.set(match[1]!, match.slice(2).map(Number));
  }
  expect([...rows.keys()]).toEqual(['RoundRobin', 'PowerOfTwoChoices', 'PeakEwma', 'LeastLatency']);
  const [roundRobin, , , leastLatency] = [...rows.values()];
  // Round robin gives the slow endpoint its quarter; the custom strategy avoids it.
  expect(roundRobin![0]).toBe(25);
  expect(leastLatency![0]).toBeLessThan(5);
  expect(leastLatency![2]).toBeLessThan(roundRobin![2]!);
});
