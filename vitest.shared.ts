import { defineConfig } from 'vitest/config';

/**
 * What every package's tests share. Tests start real servers (HTTP, proxies, sshd, redis) on
 * loopback, which on a busy 2-core machine can take seconds: hence the generous timeouts.
 * A package's vitest.config.ts merges its own needs into this (`mergeConfig`).
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
