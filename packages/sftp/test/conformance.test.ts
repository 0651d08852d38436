import { runConformanceSuite } from '@nectar/conformance';
import { describe, it } from 'vitest';
import { SftpDownloader } from '../src/index.js';
import { sftpFixture, sshdSkipReason } from '../src/testing.js';

const skip = sshdSkipReason();

if (skip !== null) {
  describe('sftp conformance', () => it.skip(`skipped: ${skip}`, () => {}));
} else {
  const fixture = sftpFixture();
  runConformanceSuite({
    name: 'sftp',
    create: (config, listener) => new SftpDownloader(config, listener),
    fixture,
    config: fixture.config,
  });
}
