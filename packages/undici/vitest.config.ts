import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/build-worker.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // The soak test measures the heap after a full collection.
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
  },
});
