import { expect, it } from 'vitest';
import { runExample } from './support.js';

it('examples/execute-tcp.ts fails over from a closed TCP server and exits by itself', async () => {
  const { stdout, stderr } = await runExample('execute-tcp.ts');
  expect(stderr).toBe('');
  const lines = stdout.trim().split('\n');
  const servers = /^echo servers: (tcp:\S+), (tcp:\S+), (tcp:\S+) \(closed\)$/.exec(lines[0]!);
  expect(servers).not.toBeNull();
  const [, up1, up2, closed] = servers!;
  const requests = lines.filter((line) => line.startsWith('request '));
  expect(requests).toHaveLength(6);
  requests.forEach((line, i) => {
    const match = /^request (\d): "hello (\d)" echoed by (\S+) on attempt (\d)(.*)$/.exec(line);
    expect(match, line).not.toBeNull();
    expect(match![1]).toBe(String(i + 1));
    expect(match![2]).toBe(String(i + 1));
    expect([up1, up2]).toContain(match![3]);
  });
  // Round robin reaches the closed server once; that request fails over, and outlier
  // detection ejects the server so no later request tries it.
  const failedOver = requests.filter((line) => / on attempt 2 /.test(line));
  expect(failedOver).toHaveLength(1);
  expect(failedOver[0]).toContain(`(${closed} failed: ECONNREFUSED)`);
  expect(requests.filter((line) => line.includes('failed'))).toHaveLength(1);
  expect(lines.filter((line) => line.startsWith('state: '))).toEqual([
    `state: ${up1} healthy`,
    `state: ${up2} healthy`,
    `state: ${closed} ejected`,
  ]);
  expect(lines.at(-1)).toBe('done');
});
