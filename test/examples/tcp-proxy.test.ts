import { expect, it } from 'vitest';
import { runExample } from './support.js';

it('examples/tcp-proxy.ts balances, passes the client address by PROXY v1, and exits', async () => {
  const { stdout, stderr } = await runExample('tcp-proxy.ts');
  expect(stderr).toBe('');
  const lines = stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^proxy on 127\.0\.0\.1:\d+$/);
  const replies = lines.filter((line) => line.startsWith('client '));
  expect(replies).toHaveLength(4);
  replies.forEach((line, i) => {
    const match =
      /^client (127\.0\.0\.1:\d+) got: service-[ab] says hello to (127\.0\.0\.1:\d+): you sent "question (\d)"$/.exec(
        line,
      );
    expect(match, line).not.toBeNull();
    // The service saw the client's own address and port, through the PROXY header.
    expect(match![2]).toBe(match![1]);
    expect(match![3]).toBe(String(i + 1));
  });
  // The down endpoint is refused when picked (at most once: then it is ejected).
  const failovers = lines.filter((line) => line.startsWith('failover: '));
  expect(failovers.length).toBeLessThanOrEqual(1);
  for (const line of failovers) expect(line).toMatch(/failed \(ECONNREFUSED\)/);
  const states = lines.filter((line) => line.startsWith('state: '));
  expect(states).toHaveLength(3);
  expect(states[2]).toMatch(failovers.length === 1 ? / ejected$/ : / healthy$/);
  expect(lines.at(-1)).toBe('done');
});
