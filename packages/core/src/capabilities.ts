import type { ResolvedConfig } from './config.js';
import type { DownloadRequest } from './request.js';
import { isSocksProxy } from './http/socks.js';

/** What a backend honours; the conformance suite and the base class both read it. */
export type Capability =
  | 'headers'
  | 'basicAuth'
  | 'proxy'
  | 'httpsProxy'
  | 'tls'
  | 'clientCert'
  | 'maxSpeed'
  | 'streamDestination'
  | 'resume'
  | 'redirects'
  /** Serves byte ranges of one version of a file (`TransferJob.range`): core may split large files. */
  | 'ranges'
  | 'http2'
  | 'socksProxy'
  /** Re-syncs (config.state, ifModifiedSince, reuseFrom): core's per-request hook runs them; a downloader that replaces it (a queue) does not. */
  | 'state'
  /** config.afterHeaders, called by core's attempts. */
  | 'afterHeaders';

export type Supports = Readonly<Record<Capability, boolean>>;

export const capabilities: readonly Capability[] = [
  'headers',
  'basicAuth',
  'proxy',
  'httpsProxy',
  'tls',
  'clientCert',
  'maxSpeed',
  'streamDestination',
  'resume',
  'redirects',
  'ranges',
  'http2',
  'socksProxy',
  'state',
  'afterHeaders',
];

/** A manifest with every capability set to `value`, to spread and override. */
export function supportsAll(value: boolean): Supports {
  return Object.fromEntries(capabilities.map((c) => [c, value])) as Record<Capability, boolean>;
}

export interface UsedCapability {
  capability: Capability;
  /** The config or request field that asks for it. */
  field: string;
}

/**
 * Fields that mean nothing for a scheme's URLs: in a mixed run (one config for http, file and
 * sftp URLs) a TLS option or a header meant for https never makes a file:// request fail. A field
 * that does apply, but that the backend does not honour, is still NECTAR_NOT_SUPPORTED.
 */
const notApplicable: Readonly<Record<string, ReadonlySet<string>>> = {
  file: new Set([
    'config.headers',
    'request.headers',
    'config.basicAuthUsername',
    'config.proxyUrl',
    'config.sslValidation',
    'config.sslCaCert',
    'config.sslCaCertPath',
    'config.sslClientCert',
    'config.sslClientCertPath',
    'config.trustRedirects',
    'config.http2',
  ]),
  // sslValidation and basic auth do apply to SFTP: host-key checks and the login.
  sftp: new Set(['config.headers', 'request.headers', 'config.proxyUrl', 'config.sslCaCert', 'config.sslCaCertPath', 'config.sslClientCert', 'config.sslClientCertPath', 'config.trustRedirects', 'config.http2']),
};

/** Whether a config or request field means anything for URLs of `scheme` (unknown schemes: yes). */
export function fieldApplies(field: string, scheme: string): boolean {
  return notApplicable[scheme]?.has(field) !== true;
}

/**
 * The capabilities a request asks for through its own fields and the config's non-default ones,
 * leaving out fields that do not apply to its URL's scheme.
 */
export function usedCapabilities(config: ResolvedConfig, request: DownloadRequest): UsedCapability[] {
  const used: UsedCapability[] = [];
  const scheme = request.scheme;
  const use = (capability: Capability, field: string, when: boolean) => {
    if (when && fieldApplies(field, scheme)) used.push({ capability, field });
  };
  use('headers', 'config.headers', Object.keys(config.headers ?? {}).length > 0);
  use('headers', 'request.headers', Object.keys(request.headers).length > 0);
  use('basicAuth', 'config.basicAuthUsername', config.basicAuthUsername !== undefined);
  use('proxy', 'config.proxyUrl', config.proxyUrl !== undefined);
  use('httpsProxy', 'config.proxyUrl', config.proxyUrl?.startsWith('https:') === true);
  use('socksProxy', 'config.proxyUrl', config.proxyUrl !== undefined && isSocksProxy(config.proxyUrl));
  use('tls', 'config.sslValidation', config.sslValidation === false);
  use('tls', 'config.sslCaCert', config.sslCaCert !== undefined);
  use('tls', 'config.sslCaCertPath', config.sslCaCertPath !== undefined);
  use('clientCert', 'config.sslClientCert', config.sslClientCert !== undefined);
  use('clientCert', 'config.sslClientCertPath', config.sslClientCertPath !== undefined);
  use('maxSpeed', 'config.maxSpeed', config.maxSpeed !== undefined);
  use('maxSpeed', 'config.maxSpeedPerHost', config.maxSpeedPerHost !== undefined);
  use('maxSpeed', 'request.maxSpeed', request.maxSpeed !== undefined);
  use('streamDestination', 'request.destination', typeof request.destination !== 'string');
  use('resume', 'config.keepPartial', config.keepPartial);
  use('redirects', 'config.trustRedirects', config.trustRedirects);
  use('http2', 'config.http2', config.http2);
  use('state', 'config.state', config.state !== undefined);
  use('state', 'config.ifModifiedSince', config.ifModifiedSince === true);
  use('state', 'config.reuseFrom', (config.reuseFrom?.length ?? 0) > 0);
  use('afterHeaders', 'config.afterHeaders', config.afterHeaders !== undefined);
  return used;
}
