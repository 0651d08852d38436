import type { ConnectionOptions } from 'node:tls';
import type { TlsMaterial } from './material.js';

/** node:tls options towards the server that holds the file: trust and the client certificate. */
export function targetTlsOptions(tls: TlsMaterial): ConnectionOptions {
  const options: ConnectionOptions = { rejectUnauthorized: tls.rejectUnauthorized };
  if (tls.ca !== undefined) options.ca = tls.ca;
  if (tls.cert !== undefined) options.cert = tls.cert;
  if (tls.key !== undefined) options.key = tls.key;
  if (tls.passphrase !== undefined) options.passphrase = tls.passphrase;
  return options;
}

/**
 * node:tls options towards an https proxy: the same trust as the target (one CA config, like a
 * private CA that signs both), but never the client certificate, which identifies us to the
 * target only.
 */
export function proxyTlsOptions(tls: TlsMaterial): ConnectionOptions {
  const options: ConnectionOptions = { rejectUnauthorized: tls.rejectUnauthorized };
  if (tls.ca !== undefined) options.ca = tls.ca;
  return options;
}
