import { defineConfig } from 'tsup';
// The one list of public entry points: tsup, typedoc and the `exports` map follow it
// (test/packaging.test.ts checks that package.json agrees).
import entries from './scripts/entries.json' with { type: 'json' };

// The `switchyard` executable (package.json `bin`): not a public subpath, so it is not in
// entries.json. Built alone into dist/cli.js (ESM, shebang kept from src/cli/bin.ts), with
// the commands in a chunk under dist/cli-chunks/ that cli.js imports once it has checked
// the Node.js version (static imports would load undici first).
const CLI = ['cli.js', 'cli.js.map', 'cli-chunks', 'cli-chunks/**'];

export default defineConfig([
  {
    entry: entries,
    format: ['esm', 'cjs'],
    dts: true,
    // The two builds run side by side: this one must not remove the executable.
    clean: CLI.map((file) => `!${file}`),
    target: 'node22',
    platform: 'neutral',
    sourcemap: true,
    splitting: true,
    treeshake: true,
    // switchyard/fastify imports switchyard/http through the package's own name: one copy
    // of the proxy at run time, whichever entries an application loads.
    external: [/^node:/, 'undici', 'fast-check', 'fastify', /^switchyard(\/|$)/],
  },
  {
    entry: { cli: 'src/cli/bin.ts' },
    format: ['esm'],
    dts: false,
    clean: ['cli-chunks'],
    target: 'node22',
    platform: 'node',
    sourcemap: true,
    splitting: true,
    esbuildOptions(options) {
      options.chunkNames = 'cli-chunks/[name]-[hash]';
    },
    treeshake: true,
    external: [/^node:/, 'undici', 'fast-check'],
  },
]);
