import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The identities `ssh` tries when none is given (ssh_config(5), IdentityFile), in its order —
 * those ssh2 can use: the security-key (`_sk`) and XMSS kinds need OpenSSH's own code.
 */
export const DEFAULT_SSH_KEYS = ['id_rsa', 'id_ecdsa', 'id_ed25519', 'id_dsa'] as const;

/**
 * The default keys under `~/.ssh` a login can use, in ssh's order: present, readable, private
 * keys. An encrypted one only with a passphrase to open it: nectar never prompts (ssh would).
 * @nectar/sftp tries them in turn, as ssh does.
 */
export function defaultSshKeys(withPassphrase: boolean, home = homedir()): string[] {
  return DEFAULT_SSH_KEYS.map((name) => join(home, '.ssh', name)).filter((path) => {
    const kind = privateKeyKind(path);
    return kind === 'plain' || (kind === 'encrypted' && withPassphrase);
  });
}

type KeyKind = 'plain' | 'encrypted' | 'none';

function privateKeyKind(path: string): KeyKind {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch {
    return 'none';
  }
  if (/^-----BEGIN OPENSSH PRIVATE KEY-----/m.test(text)) {
    const cipher = openSshCipher(text);
    return cipher === undefined ? 'none' : cipher === 'none' ? 'plain' : 'encrypted';
  }
  // PEM (RSA, EC, DSA; an encrypted one carries a Proc-Type header) or unencrypted PKCS#8;
  // ssh2 cannot open encrypted PKCS#8 (BEGIN ENCRYPTED PRIVATE KEY), so that one is no key here.
  if (!/^-----BEGIN (RSA |EC |DSA )?PRIVATE KEY-----/m.test(text)) return 'none';
  return /ENCRYPTED/.test(text) ? 'encrypted' : 'plain';
}

/** The cipher an OpenSSH-format key is encrypted with ("none" when it is not): after the magic, a length-prefixed name. */
function openSshCipher(text: string): string | undefined {
  const body = text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const bytes = Buffer.from(body, 'base64');
  const magic = 'openssh-key-v1\0';
  if (bytes.subarray(0, magic.length).toString('latin1') !== magic || bytes.length < magic.length + 4) return undefined;
  const length = bytes.readUInt32BE(magic.length);
  return bytes.subarray(magic.length + 4, magic.length + 4 + length).toString('latin1');
}

/** As ssh does: with no key named, the default ones under ~/.ssh (sftp: URLs use them, others ignore them). */
export function withDefaultSshKeys<T extends { sshPrivateKeyPath?: readonly string[]; sslClientKeyPassphrase?: string }>(fields: T): T {
  if (fields.sshPrivateKeyPath !== undefined) return fields;
  const keys = defaultSshKeys(fields.sslClientKeyPassphrase !== undefined);
  return keys.length === 0 ? fields : { ...fields, sshPrivateKeyPath: keys };
}
