import { NectarError } from '../errors.js';
import { redactUrl } from '../redact.js';

/** The content codings of a Content-Encoding value, in the order applied, without `identity`. */
export function contentCodings(contentEncoding: string | readonly string[] | undefined): string[] {
  const joined = typeof contentEncoding === 'string' ? contentEncoding : (contentEncoding ?? []).join(',');
  return joined
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
}

/**
 * The failure for a body `config.decompress` cannot decode: writing its bytes as they came would
 * give the caller a file nobody asked for and nobody can read.
 */
export function undecodableError(url: URL, contentEncoding: string): NectarError {
  return new NectarError('NECTAR_NOT_SUPPORTED', `${redactUrl(url)} is sent with Content-Encoding ${contentEncoding}, which config.decompress cannot decode`, {
    details: { url: redactUrl(url), contentEncoding },
  });
}
