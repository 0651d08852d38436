import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import type { ResolvedConfig } from '../config.js';
import { NectarError } from '../errors.js';

/** What a TLS client needs, loaded once per downloader from the config's data or paths. */
export interface TlsMaterial {
  rejectUnauthorized: boolean;
  /** undefined: the system store. */
  ca?: string[];
  cert?: string;
  key?: string;
  passphrase?: string;
}

async function pem(config: ResolvedConfig, dataField: keyof ResolvedConfig, pathField: keyof ResolvedConfig): Promise<string | undefined> {
  const data = config[dataField];
  if (typeof data === 'string') return data;
  const path = config[pathField];
  if (typeof path !== 'string') return undefined;
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new NectarError('NECTAR_INVALID_CONFIG', `config.${String(pathField)}: cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
      details: { field: pathField },
    });
  }
}

export async function loadTlsMaterial(config: ResolvedConfig): Promise<TlsMaterial> {
  const [ca, cert, key] = await Promise.all([
    pem(config, 'sslCaCert', 'sslCaCertPath'),
    pem(config, 'sslClientCert', 'sslClientCertPath'),
    pem(config, 'sslClientKey', 'sslClientKeyPath'),
  ]);
  const material: TlsMaterial = { rejectUnauthorized: config.sslValidation };
  // Like curl --cacert, a configured CA replaces the system store unless asked to extend it.
  if (ca !== undefined) material.ca = config.sslCaMode === 'extend' ? [...rootCertificates, ca] : [ca];
  if (cert !== undefined) {
    material.cert = cert;
    material.key = key ?? cert;
  }
  if (config.sslClientKeyPassphrase !== undefined) material.passphrase = config.sslClientKeyPassphrase;
  return material;
}
