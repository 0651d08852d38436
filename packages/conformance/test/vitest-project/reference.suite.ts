// Copied into a fresh project as test/vitest-project/reference.test.ts by test/vitest-versions.test.ts:
// the seven lines a user writes, run by the vitest version under test against a real downloader.
import { httpFixture, runConformanceSuite } from '@nectar/conformance';
import { ReferenceDownloader } from '../support/reference-downloader.js';

runConformanceSuite({
  name: 'reference',
  create: (config, listener) => new ReferenceDownloader(config, listener),
  fixture: httpFixture(),
});
