import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { type Capability, type DownloaderConfigOptions, DownloadRequest, fieldApplies } from '@nectar/core/backend';
import { expect, it } from 'vitest';
import { expectState } from '../outcome.js';
import type { SuiteContext } from '../context.js';
import { tlsMaterial } from '../fixtures/tls.js';

type Use = { config?: DownloaderConfigOptions; stream?: boolean; field: string };
// `field` is the config or request field as core names it (`config.headers`, `request.destination`).

/** How a case asks for each capability, and the field the error must name. */
async function usageOf(capability: Capability): Promise<Use> {
  switch (capability) {
    case 'headers':
      return { config: { headers: { 'x-nectar': '1' } }, field: 'config.headers' };
    case 'basicAuth':
      return { config: { basicAuthUsername: 'user', basicAuthPassword: 'pass' }, field: 'config.basicAuthUsername' };
    case 'proxy':
      return { config: { proxyUrl: 'http://127.0.0.1', proxyPort: 9 }, field: 'config.proxyUrl' };
    case 'httpsProxy':
      return { config: { proxyUrl: 'https://127.0.0.1', proxyPort: 9 }, field: 'config.proxyUrl' };
    case 'tls':
      return { config: { sslValidation: false }, field: 'config.sslValidation' };
    case 'clientCert': {
      const tls = await tlsMaterial();
      return { config: { sslClientCert: tls.client.cert, sslClientKey: tls.client.key }, field: 'config.sslClientCert' };
    }
    case 'maxSpeed':
      return { config: { maxSpeed: 10_000_000 }, field: 'config.maxSpeed' };
    case 'streamDestination':
      return { stream: true, field: 'request.destination' };
    case 'resume':
      return { config: { keepPartial: true }, field: 'config.keepPartial' };
    case 'redirects':
      return { config: { trustRedirects: true }, field: 'config.trustRedirects' };
    case 'ranges':
      return { config: { segments: 2 }, field: 'config.segments' };
    case 'http2':
      return { config: { http2: true }, field: 'config.http2' };
    case 'socksProxy':
      return { config: { proxyUrl: 'socks5://127.0.0.1', proxyPort: 9 }, field: 'config.proxyUrl' };
    case 'state':
      // Refused before anything is opened: the path is never created.
      return { config: { state: join(tmpdir(), `nectar-undeclared-${process.pid}.db`) }, field: 'config.state' };
    case 'afterHeaders':
      return { config: { afterHeaders: () => undefined }, field: 'config.afterHeaders' };
  }
}

/**
 * A capability the downloader does not declare must fail the request that uses it, naming the
 * field, and never be silently ignored.
 */
export function undeclaredCapabilityCase(ctx: SuiteContext, capability: Capability): void {
  it(`fails a request that uses undeclared capability '${capability}' with NECTAR_NOT_SUPPORTED`, async (t) => {
    const use = await usageOf(capability);
    const file = await ctx.publish(100);
    const scheme = new URL(file.url).protocol.slice(0, -1);
    // A field meant for other schemes (TLS for file://) is ignored for this one, by design.
    if (!fieldApplies(use.field, scheme)) return t.skip(`${use.field} does not apply to ${scheme}: URLs, so it is ignored for them`);
    const folder = await ctx.folder();
    const stream = new PassThrough();
    const destination = use.stream ? stream : join(folder, 'x');
    const [report] = await ctx.downloader(use.config).download([new DownloadRequest(file.url, destination)]);
    expectState(report, 'failed');
    expect(report?.errorReport.code).toBe('NECTAR_NOT_SUPPORTED');
    expect(String(report?.errorReport.message)).toContain(use.field);
    expect(stream.writableEnded).toBe(false);
    expect(await ctx.leftovers(folder)).toEqual([]);
  });
}

export async function readJson(path: string): Promise<{ headers: Record<string, string> }> {
  return JSON.parse(await readFile(path, 'utf8'));
}
