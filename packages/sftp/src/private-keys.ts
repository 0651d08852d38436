import { readFile } from 'node:fs/promises';
import { NectarError } from '@nectar/core/backend';
import ssh2, { type ParsedKey } from 'ssh2';

// ssh2 is CommonJS and its exports object is not statically analysable: no named import.
const { parseKey } = ssh2.utils;

/** One private key as configured: the key itself, or the file holding it. */
export type PrivateKeySource = { readonly data: string | Buffer } | { readonly path: string };

/** A key ready to sign with, and what to call it in messages (its file, or the config field). */
export interface LoadedKey {
  readonly key: ParsedKey;
  readonly name: string;
}

/**
 * Reads and decrypts every configured key once, when the backend opens, in the order given (the
 * order logins try them). A key that cannot be used fails here, naming its file or field and the
 * field to fix: a bad passphrase would otherwise surface only as a refused login.
 */
export function loadPrivateKeys(sources: readonly PrivateKeySource[], passphrase: string | undefined): Promise<LoadedKey[]> {
  return Promise.all(sources.map((source, index) => loadOne(source, index, sources.length, passphrase)));
}

async function loadOne(source: PrivateKeySource, index: number, count: number, passphrase: string | undefined): Promise<LoadedKey> {
  const name = 'path' in source ? source.path : count === 1 ? 'config.sshPrivateKey' : `config.sshPrivateKey[${index}]`;
  const data = 'path' in source ? await readKeyFile(source.path) : source.data;
  const parsed = parseKey(data, passphrase);
  // ssh2 returns an array for formats that could hold several; OpenSSH's holds one.
  const key = Array.isArray(parsed) ? (parsed[0] as ParsedKey | Error | undefined) : parsed;
  if (key === undefined || key instanceof Error) throw unusableKey(source, name, passphrase, key);
  if (!key.isPrivateKey()) throw unusableKey(source, name, passphrase, new Error('it is a public key'));
  return { key, name };
}

async function readKeyFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new NectarError('NECTAR_INVALID_CONFIG', `config.sshPrivateKeyPath: cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
      details: { field: 'sshPrivateKeyPath', keyFile: path },
    });
  }
}

/**
 * Why ssh2 could not use a key. Its messages are about the key ("… no passphrase given",
 * "… bad passphrase?"), never the passphrase itself; ours say which field to change.
 */
function unusableKey(source: PrivateKeySource, name: string, passphrase: string | undefined, error: Error | undefined): NectarError {
  const reason = error?.message ?? 'no key in it';
  const keyFile = 'path' in source ? { keyFile: source.path } : {};
  if (/no passphrase given/i.test(reason)) {
    return new NectarError('NECTAR_INVALID_CONFIG', `${name} is encrypted and no passphrase was given (config.sslClientKeyPassphrase)`, {
      details: { field: 'sslClientKeyPassphrase', reason: 'passphrase-missing', ...keyFile },
    });
  }
  if (passphrase !== undefined && /passphrase/i.test(reason)) {
    return new NectarError('NECTAR_INVALID_CONFIG', `the passphrase given (config.sslClientKeyPassphrase) does not decrypt ${name}: wrong passphrase`, {
      details: { field: 'sslClientKeyPassphrase', reason: 'passphrase-wrong', ...keyFile },
    });
  }
  const field = 'path' in source ? 'sshPrivateKeyPath' : 'sshPrivateKey';
  return new NectarError('NECTAR_INVALID_CONFIG', `${name} is not a private key ssh2 can use (${reason}); check config.${field}`, {
    details: { field, reason: 'key-unusable', ...keyFile },
  });
}
