import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // src/fastify imports switchyard/http by the package's name: in tests, the sources.
    alias: [
      {
        find: /^switchyard\/http$/,
        replacement: fileURLToPath(new URL('./src/http/index.ts', import.meta.url)),
      },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
