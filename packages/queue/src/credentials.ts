import { NectarError, secretQueryParams } from '@nectar/core';
import { fragmentParams, headerSecrets } from '@nectar/core/backend';
import { basicAuthorization } from '@nectar/core/http';

/**
 * A secret a worker holds in its own configuration; jobs only name it. `headers` are added to
 * the request, `query` parameters to its URL (a token an origin wants in the query string).
 */
export type Credential = ({ username: string; password: string } | { headers?: Record<string, string>; query?: Record<string, string> }) & {
  /**
   * The origins (`https://host[:port]`) it may be sent to; any, when absent. A job names a
   * credential for a URL of its choosing: without this list, whoever can enqueue jobs (or write
   * the farm's Redis) can have a worker send its secret to a host they pick.
   */
  origins?: readonly string[];
};

export type CredentialStore = Readonly<Record<string, Credential>>;

/**
 * Header names whose values never enter Redis, beside those core already treats as secrets
 * (`Authorization`, `Proxy-Authorization`, `Cookie` and names ending in `-Api-Key`, `-Token`,
 * `-Secret`). `QueueDownloaderOptions.secretHeaders` adds more.
 */
export const defaultSecretHeaders: readonly string[] = Object.freeze(['authorization', 'proxy-authorization', 'cookie', 'x-api-key', 'x-auth-token', 'api-key']);

/** What a producer refuses to write into job data. */
export interface SecretRules {
  /** Extra header names (case-insensitive) whose values are secrets. */
  readonly headers: ReadonlySet<string>;
  /** Query parameter names (case-insensitive) whose values are secrets: core's list plus extras. */
  readonly params: ReadonlySet<string>;
}

export function secretRules(extraHeaders: readonly string[] = [], extraParams: readonly string[] = []): SecretRules {
  return {
    headers: new Set([...defaultSecretHeaders, ...extraHeaders].map((h) => h.toLowerCase())),
    params: new Set([...secretQueryParams, ...extraParams].map((p) => p.toLowerCase())),
  };
}

const resolveOnWorker = 'name a credential the workers resolve instead (QueueDownloaderOptions.credential)';

/** Throws when a request would carry a secret into job data; the message says what to do. */
export function assertNoSecrets(url: string, headers: Readonly<Record<string, string>>, rules: SecretRules = secretRules()): void {
  const parsed = new URL(url);
  if (parsed.password !== '') {
    throw new NectarError('NECTAR_INVALID_REQUEST', `the URL carries a password, which would be stored in Redis: ${resolveOnWorker}`, { details: { field: 'url' } });
  }
  // The fragment too: OAuth's implicit flow puts its access_token there, and core masks it as a secret.
  for (const [part, params] of [['query', [...parsed.searchParams]], ['fragment', fragmentParams(parsed.hash)]] as const) {
    const param = [...params].find(([name, value]) => value !== '' && rules.params.has(name.toLowerCase()))?.[0];
    if (param !== undefined) {
      throw new NectarError('NECTAR_INVALID_REQUEST', `${part} parameter ${param} is a token, which would be stored in Redis: ${resolveOnWorker}`, {
        details: { field: `url.${param}` },
      });
    }
  }
  for (const [name, value] of Object.entries(headers)) {
    if (rules.headers.has(name.toLowerCase()) || headerSecrets({ [name]: value }).length > 0) {
      throw new NectarError('NECTAR_INVALID_REQUEST', `header ${name} is a secret, which would be stored in Redis: ${resolveOnWorker}`, {
        details: { field: `headers.${name}` },
      });
    }
  }
}

function lookup(store: CredentialStore, id: string, worker: string, url: string): Credential {
  const credential = Object.hasOwn(store, id) ? store[id] : undefined;
  if (credential === undefined) {
    throw new NectarError('NECTAR_AUTH', `credential ${JSON.stringify(id)} is not configured on worker ${worker}`, { details: { credential: id } });
  }
  const { origin } = new URL(url);
  if (credential.origins !== undefined && !credential.origins.some((allowed) => sameOrigin(allowed, origin))) {
    throw new NectarError('NECTAR_AUTH', `credential ${JSON.stringify(id)} is not sent to ${origin}: worker ${worker} allows it for ${credential.origins.join(', ')} only`, {
      details: { credential: id, origin },
    });
  }
  return credential;
}

function sameOrigin(allowed: string, origin: string): boolean {
  return URL.canParse(allowed) && new URL(allowed).origin === origin;
}

/** Throws NECTAR_AUTH unless the credential may go to every one of `urls` (a request's URL and its mirrors). */
export function checkCredentialOrigins(store: CredentialStore, id: string, worker: string, urls: readonly string[]): void {
  for (const url of urls) lookup(store, id, worker, url);
}

/** The headers a credential adds to a request for `url` on the worker that resolves it. */
export function credentialHeaders(store: CredentialStore, id: string, worker: string, url: string): Record<string, string> {
  const credential = lookup(store, id, worker, url);
  if ('username' in credential) return { authorization: basicAuthorization(credential.username, credential.password) };
  return { ...credential.headers };
}

/** The URL with a credential's query parameters set, on the worker that resolves it. */
export function credentialUrl(store: CredentialStore, id: string, worker: string, url: string): string {
  const credential = lookup(store, id, worker, url);
  if ('username' in credential || credential.query === undefined) return url;
  const resolved = new URL(url);
  for (const [name, value] of Object.entries(credential.query)) resolved.searchParams.set(name, value);
  return resolved.href;
}

/** Every secret value of a credential, for masking in what a worker sends back. */
export function credentialSecrets(store: CredentialStore, id: string): string[] {
  const credential = Object.hasOwn(store, id) ? store[id] : undefined;
  if (credential === undefined) return [];
  if ('username' in credential) return [credential.password, ...headerSecrets({ authorization: basicAuthorization(credential.username, credential.password) })];
  return [...Object.values(credential.headers ?? {}), ...Object.values(credential.query ?? {})];
}
