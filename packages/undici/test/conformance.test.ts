import { httpFixture, runConformanceSuite } from '@nectar/conformance';
import { UndiciDownloader } from '../src/index.js';

// Over plain http: the suite's TLS, client-certificate and proxy cases start their own https
// servers and proxies, so every capability is exercised from here. Once per mode: transfers on
// the main thread, and on two worker threads.
runConformanceSuite({
  name: 'undici (in-process)',
  create: (config, listener) => new UndiciDownloader(config, listener),
  fixture: httpFixture(),
  config: { threads: 0 },
});

runConformanceSuite({
  name: 'undici (threaded)',
  create: (config, listener) => new UndiciDownloader(config, listener),
  fixture: httpFixture(),
  config: { threads: 2 },
});
