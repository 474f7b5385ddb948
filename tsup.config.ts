import { defineConfig } from 'tsup';
// The one list of public entry points: tsup, typedoc and the `exports` map follow it
// (test/packaging.test.ts checks that package.json agrees).
import entries from './scripts/entries.json' with { type: 'json' };

export default defineConfig({
  entry: entries,
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  target: 'node22',
  platform: 'neutral',
  sourcemap: true,
  splitting: true,
  treeshake: true,
  external: [/^node:/, 'undici', 'fast-check'],
});
