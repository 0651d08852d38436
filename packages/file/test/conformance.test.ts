import { fileFixture, runConformanceSuite } from '@nectar/conformance';
import { FileDownloader } from '../src/index.js';

runConformanceSuite({
  name: 'file',
  create: (config, listener) => new FileDownloader(config, listener),
  fixture: fileFixture(),
});
