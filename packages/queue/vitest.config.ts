import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

export default mergeConfig(
  shared,
  defineConfig({
    // Says loudly when redis-server is missing and the Redis tests skip (fails instead in CI).
    // Files run one at a time: politeness and recovery are measured in time, from an origin's
    // log, and worker processes of two files on a 2-core machine would skew each other's clocks.
    test: { globalSetup: ['test/support/servers.ts'], fileParallelism: false },
  }),
);
