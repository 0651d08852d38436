import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

export default mergeConfig(
  shared,
  defineConfig({
    // Says loudly when sshd is missing and the sftp: tests skip (fails instead in CI).
    test: { globalSetup: ['test/support/servers.ts'] },
  }),
);
