import { expect, it } from 'vitest';
import { runExample } from './support.js';

it('examples/custom-selector.ts checks its selector and prints the comparison table', async () => {
  const { stdout, stderr } = await runExample('custom-selector.ts', 60_000);
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
