import { capabilities } from '@nectar/core';
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest';
import { cancelCases } from './cases/cancel.js';
import { cancelBeforeFirstByteCases } from './cases/cancel-before-first-byte.js';
import { undeclaredCapabilityCase } from './cases/capabilities.js';
import { destinationCases } from './cases/destinations.js';
import { faultCases } from './cases/faults.js';
import { hostileCases } from './cases/hostile.js';
import { hostileHttpCases } from './cases/hostile-http.js';
import { http2Cases } from './cases/http2.js';
import { httpCapabilityCases, isHttpFixture } from './cases/http.js';
import { disposeTlsMaterial } from './fixtures/tls.js';
import { inputCases } from './cases/input.js';
import { iterationCases } from './cases/iteration.js';
import { lifecycleCases } from './cases/lifecycle.js';
import { proxyIdentityCases } from './cases/proxy-identity.js';
import { rangeCases } from './cases/ranges.js';
import { socksCases } from './cases/socks.js';
import { afterHeadersCases, resyncCases } from './cases/resync.js';
import { speedCases } from './cases/speed.js';
import { type ConformanceOptions, SuiteContext } from './context.js';

/**
 * Registers the conformance suite with vitest. Call it at the top level of a test file:
 * the downloader's `supports` decides which capability cases run; a capability it does not
 * declare shows as a skipped case with the reason, and using it is checked to fail clearly.
 */
export function runConformanceSuite(options: ConformanceOptions): void {
  const ctx = new SuiteContext(options);
  describe(`${options.name} conformance`, () => {
    beforeAll(() => options.fixture.start());
    afterAll(async () => {
      await options.fixture.stop();
      await disposeTlsMaterial();
    });
    afterEach(() => ctx.cleanup());

    describe('lifecycle', () => lifecycleCases(ctx));
    describe('destinations', () => destinationCases(ctx));
    describe('cancel', () => {
      cancelCases(ctx);
      cancelBeforeFirstByteCases(ctx);
    });
    describe('iteration and concurrency', () => iterationCases(ctx));
    describe('speed limit', () => speedCases(ctx));
    describe('segments', () => rangeCases(ctx));
    describe('bad input', () => inputCases(ctx));
    describe('hostile neighbours and callers', () => hostileCases(ctx));
    describe('outcomes and re-syncs', () => resyncCases(ctx, isHttpFixture(options.fixture) ? options.fixture : null));
    describe('after-headers hook', () => afterHeadersCases(ctx));
    describe('capabilities', () => {
      for (const capability of capabilities) {
        if (ctx.has(capability)) continue;
        it.skip(`${capability}: not declared in supports, so its cases are skipped`, () => {});
        // Ranges are asked for by no field: without them core just never splits a file.
        if (capability !== 'ranges') undeclaredCapabilityCase(ctx, capability);
      }
      if (isHttpFixture(options.fixture)) httpCapabilityCases(ctx, options.fixture);
      if (isHttpFixture(options.fixture)) proxyIdentityCases(ctx);
      if (isHttpFixture(options.fixture)) socksCases(ctx);
      if (isHttpFixture(options.fixture)) http2Cases(ctx);
    });
    if (isHttpFixture(options.fixture)) {
      const http = options.fixture;
      describe('faults', () => faultCases(ctx, http));
      describe('hostile servers', () => hostileHttpCases(ctx));
    }
  });
}
