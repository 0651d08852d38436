import { runConformanceSuite } from '../src/index.js';
import { httpFixture } from '../src/fixtures/index.js';
import { ReferenceDownloader } from './support/reference-downloader.js';

runConformanceSuite({
  name: 'reference (node:http)',
  create: (config, listener) => new ReferenceDownloader(config, listener),
  fixture: httpFixture(),
});
