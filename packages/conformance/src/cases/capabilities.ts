import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { type Capability, type DownloaderConfigOptions, DownloadRequest } from '@nectar/core';
import { expect, it } from 'vitest';
import type { SuiteContext } from '../context.js';
import { tlsMaterial } from '../fixtures/tls.js';

type Use = { config?: DownloaderConfigOptions; stream?: boolean; field: string };

/** How a case asks for each capability, and the field the error must name. */
async function usageOf(capability: Capability): Promise<Use> {
  switch (capability) {
    case 'headers':
      return { config: { headers: { 'x-nectar': '1' } }, field: 'headers' };
    case 'basicAuth':
      return { config: { basicAuthUsername: 'user', basicAuthPassword: 'pass' }, field: 'basicAuthUsername' };
    case 'proxy':
      return { config: { proxyUrl: 'http://127.0.0.1', proxyPort: 9 }, field: 'proxyUrl' };
    case 'httpsProxy':
      return { config: { proxyUrl: 'https://127.0.0.1', proxyPort: 9 }, field: 'proxyUrl' };
    case 'tls':
      return { config: { sslValidation: false }, field: 'sslValidation' };
    case 'clientCert': {
      const tls = await tlsMaterial();
      return { config: { sslClientCert: tls.client.cert, sslClientKey: tls.client.key }, field: 'sslClientCert' };
    }
    case 'maxSpeed':
      return { config: { maxSpeed: 10_000_000 }, field: 'maxSpeed' };
    case 'streamDestination':
      return { stream: true, field: 'destination' };
    case 'resume':
      return { config: { keepPartial: true }, field: 'keepPartial' };
    case 'redirects':
      return { config: { trustRedirects: true }, field: 'trustRedirects' };
  }
}

/**
 * A capability the downloader does not declare must fail the request that uses it, naming the
 * field, and never be silently ignored.
 */
export function undeclaredCapabilityCase(ctx: SuiteContext, capability: Capability): void {
  it(`fails a request that uses undeclared capability '${capability}' with NECTAR_NOT_SUPPORTED`, async () => {
    const use = await usageOf(capability);
    const file = await ctx.publish(100);
    const folder = await ctx.folder();
    const stream = new PassThrough();
    const destination = use.stream ? stream : join(folder, 'x');
    const [report] = await ctx.downloader(use.config).download([new DownloadRequest(file.url, destination)]);
    expect(report?.state).toBe('failed');
    expect(report?.errorReport.code).toBe('NECTAR_NOT_SUPPORTED');
    expect(String(report?.errorReport.message)).toContain(use.field);
    expect(stream.writableEnded).toBe(false);
    expect(await ctx.leftovers(folder)).toEqual([]);
  });
}

export async function readJson(path: string): Promise<{ headers: Record<string, string> }> {
  return JSON.parse(await readFile(path, 'utf8'));
}
