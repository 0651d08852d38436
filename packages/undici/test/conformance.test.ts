import { httpFixture, runConformanceSuite } from '@nectar/conformance';
import { UndiciDownloader } from '../src/index.js';

// Over plain http: the suite's TLS, client-certificate and proxy cases start their own https
// servers and proxies, so every capability is exercised from here.
runConformanceSuite({
  name: 'undici',
  create: (config, listener) => new UndiciDownloader(config, listener),
  fixture: httpFixture(),
});
