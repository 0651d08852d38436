import { defineConfig } from 'vitest/config';

// Runs the suite against one deliberately broken downloader (NECTAR_BROKEN); see test/suite-catches-broken.test.ts.
export default defineConfig({
  test: {
    include: ['test/broken/*.suite.ts'],
    testTimeout: 30_000,
    // A downloader that never settles also hangs close() in afterEach: fail that quickly.
    hookTimeout: 5_000,
  },
});
