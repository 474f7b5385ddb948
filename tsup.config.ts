import { defineConfig } from 'tsup';
// The one list of public entry points: tsup, typedoc and the `exports` map follow it
// (test/packaging.test.ts checks that package.json agrees).
import entries from './scripts/entries.json' with { type: 'json' };

// The `switchyard` executable (package.json `bin`): not a public subpath, so it is not in
// entries.json. Built alone into dist/cli.js (ESM, shebang kept from src/cli/bin.ts), with
// the commands in a chunk under dist/cli-chunks/ that cli.js imports once it has checked
// the Node.js version (static imports would load undici first). The command line's own
// dependencies (zod for the config, yaml) are bundled in: they stay devDependencies and out
// of the library's import graph.
const CLI = ['cli.js', 'cli.js.map', 'cli-chunks', 'cli-chunks/**'];
const CLI_BUNDLED = ['zod', 'yaml'];

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
    // import.meta.url in the CommonJS build (src/http/shared/undici.ts requires undici lazily).
    shims: true,
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
      // The maps keep stack traces readable without shipping the bundled sources again.
      options.sourcesContent = false;
    },
    treeshake: true,
    external: [/^node:/, 'undici', 'fast-check'],
    noExternal: CLI_BUNDLED,
    // yaml's Node build is CommonJS and requires Node built-ins: give the ESM bundle a require.
    banner: {
      js: "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);",
    },
  },
]);
