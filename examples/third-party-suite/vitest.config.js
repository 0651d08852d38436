import { defineConfig } from 'vitest/config';

// The suite's cases move real files and wait on real timers (speed limits, cancel): vitest's
// default 5 s per test is too tight on a busy CI machine.
export default defineConfig({
  test: { testTimeout: 30_000, hookTimeout: 30_000 },
});
