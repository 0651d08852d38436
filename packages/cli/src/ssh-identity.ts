import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The identities `ssh` tries when none is given (ssh_config(5), IdentityFile), in its order —
 * those ssh2 can use: the security-key (`_sk`) and XMSS kinds need OpenSSH's own code.
 */
export const DEFAULT_SSH_KEYS = ['id_rsa', 'id_ecdsa', 'id_ed25519', 'id_dsa'] as const;

/**
 * The first default key under `~/.ssh` that logs in without a prompt: present, readable, a
 * private key, not encrypted (nectar never asks for a passphrase; ssh would, or skip it).
 * @nectar/sftp takes one key, so the first usable one is the one.
 */
export function defaultSshKey(home = homedir()): string | undefined {
  for (const name of DEFAULT_SSH_KEYS) {
    const path = join(home, '.ssh', name);
    if (usableWithoutPrompt(path)) return path;
  }
  return undefined;
}

function usableWithoutPrompt(path: string): boolean {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch {
    return false;
  }
  if (/^-----BEGIN OPENSSH PRIVATE KEY-----/m.test(text)) return openSshCipher(text) === 'none';
  // PEM (RSA, EC, DSA): an encrypted one carries a Proc-Type header, PKCS#8 says so in its label.
  return /^-----BEGIN (RSA |EC |DSA )?PRIVATE KEY-----/m.test(text) && !/ENCRYPTED/.test(text);
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

/** As ssh does: with no key named, the first default one under ~/.ssh (sftp: URLs use it, others ignore it). */
export function withDefaultSshKey<T extends { sshPrivateKeyPath?: string }>(fields: T): T {
  if (fields.sshPrivateKeyPath !== undefined) return fields;
  const key = defaultSshKey();
  return key === undefined ? fields : { ...fields, sshPrivateKeyPath: key };
}
