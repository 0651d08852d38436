import { NectarError } from '@nectar/core';
import { basicAuthorization } from '@nectar/core/http';

/** A secret a worker holds in its own configuration; jobs only name it. */
export type Credential = { username: string; password: string } | { headers: Record<string, string> };

export type CredentialStore = Readonly<Record<string, Credential>>;

/** Header names whose values are secrets: they must never be written into Redis. */
const secretHeaders = new Set(['authorization', 'proxy-authorization', 'cookie']);

/** Throws when a request would carry a secret into job data; the message says what to do. */
export function assertNoSecrets(url: string, headers: Readonly<Record<string, string>>): void {
  if (new URL(url).password !== '') {
    throw new NectarError('NECTAR_INVALID_REQUEST', `the URL carries a password, which would be stored in Redis: name a credential the workers resolve instead`, {
      details: { field: 'url' },
    });
  }
  for (const name of Object.keys(headers)) {
    if (secretHeaders.has(name.toLowerCase())) {
      throw new NectarError('NECTAR_INVALID_REQUEST', `header ${name} is a secret, which would be stored in Redis: name a credential the workers resolve instead`, {
        details: { field: `headers.${name}` },
      });
    }
  }
}

/** The headers a credential adds to a request on the worker that resolves it. */
export function credentialHeaders(store: CredentialStore, id: string, worker: string): Record<string, string> {
  const credential = Object.hasOwn(store, id) ? store[id] : undefined;
  if (credential === undefined) {
    throw new NectarError('NECTAR_AUTH', `credential ${JSON.stringify(id)} is not configured on worker ${worker}`, { details: { credential: id } });
  }
  if ('headers' in credential) return { ...credential.headers };
  return { authorization: basicAuthorization(credential.username, credential.password) };
}
