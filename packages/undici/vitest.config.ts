import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

export default mergeConfig(
  shared,
  defineConfig({
    test: {
      globalSetup: ['../../scripts/vitest-build-dist.ts'],
      // The soak test measures the heap after a full collection.
      poolOptions: { forks: { execArgv: ['--expose-gc'] } },
    },
  }),
);
