// Copied into a fresh project as test/vitest-project/fails.test.ts by test/vitest-versions.test.ts:
// a downloader that fails every request, whose failures must show its own error in that vitest.
import { httpFixture, runConformanceSuite } from '@nectar/conformance';
import { broken } from '../broken/downloaders.js';

const FailsEveryRequest = broken['fails-every-request'];

runConformanceSuite({
  name: 'fails every request',
  create: (config, listener) => new FailsEveryRequest(config, listener),
  fixture: httpFixture(),
});
