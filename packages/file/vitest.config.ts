import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

export default mergeConfig(
  shared,
  defineConfig({
    // Worker threads (config.threads) load the build of the backend, not src/.
    test: { globalSetup: ['../../scripts/vitest-build-dist.ts'] },
  }),
);
