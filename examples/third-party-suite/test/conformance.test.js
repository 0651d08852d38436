// Run with: npx vitest run --root examples/third-party-suite   (from the repository root)
import { fileFixture, runConformanceSuite } from '@nectar/conformance';
import { TinyFileDownloader } from '../src/index.js';

runConformanceSuite({
  name: 'tiny-file',
  create: (config, listener) => new TinyFileDownloader(config, listener),
  fixture: fileFixture(),
});
