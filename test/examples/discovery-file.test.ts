import { expect, it } from 'vitest';
import { runExample } from './support.js';

it('examples/discovery-file.ts follows the file, keeps the set on a bad edit, skips no-op edits', async () => {
  const { stdout, stderr } = await runExample('discovery-file.ts');
  expect(stderr).toBe('');
  const lines = stdout.trim().split('\n');
  expect(lines[0]).toBe(
    'start: http://127.0.0.1:9001 (weight 1), http://127.0.0.1:9002 (weight 1)',
  );
  expect(lines).toContain(
    'changed: http://127.0.0.1:9001 (weight 3), http://127.0.0.1:9003 (weight 1)',
  );
  expect(lines).toContain('error (source): kept the last good set');
  expect(lines).toContain(
    'after a bad edit: http://127.0.0.1:9001 (weight 3), http://127.0.0.1:9003 (weight 1)',
  );
  // The initial set and the change; neither the bad edit nor the reordered rewrite.
  expect(lines.at(-1)).toBe('updates: 2');
});
