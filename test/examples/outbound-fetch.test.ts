import { expect, it } from 'vitest';
import { runExample } from './support.js';

it('examples/outbound-fetch.ts balances fetch calls, fails over from a closed backend, exits', async () => {
  const { stdout, stderr } = await runExample('outbound-fetch.ts');
  expect(stderr).toBe('');
  const lines = stdout.trim().split('\n');
  const backends = /^backends: (\S+) \(backend-1\), (\S+) \(backend-2\)$/.exec(lines[0]!);
  expect(backends).not.toBeNull();
  const [, one, two] = backends!;
  const calls = lines.filter((line) => line.startsWith('GET '));
  expect(calls).toHaveLength(8);
  calls.forEach((line, i) => {
    expect(line).toMatch(
      new RegExp(`^GET /users/${i + 1}: 200 backend-[12] served /users/${i + 1}$`),
    );
  });
  // Round robin alternates while both are up…
  const before = calls.slice(0, 4).map((line) => /backend-(\d)/.exec(line)![1]);
  expect(before.filter((n) => n === '1')).toHaveLength(2);
  expect(before[0]).not.toBe(before[1]);
  // …and once backend-2 is closed every call is answered, by backend-1.
  expect(calls.slice(4).every((line) => line.includes('backend-1 served'))).toBe(true);
  const closedAt = lines.indexOf('closing backend-2');
  expect(closedAt).toBe(5);
  expect(lines.filter((line) => line.startsWith('state: '))).toEqual([
    `state: ${two} ejected (consecutive-failures)`,
  ]);
  expect(lines).toContain(`endpoint ${one}: 6 ok, 0 failed, healthy`);
  expect(lines).toContain(`endpoint ${two}: 2 ok, 1 failed, ejected`);
  expect(lines.at(-1)).toBe('done');
});
