import { httpFixture, runConformanceSuite } from '@nectar/conformance';
import { AxiosDownloader } from '../src/index.js';

runConformanceSuite({
  name: 'axios',
  create: (config, listener) => new AxiosDownloader(config, listener),
  fixture: httpFixture(),
});
