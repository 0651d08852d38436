import { createHash } from 'node:crypto';
import type { KnownHosts } from './known-hosts.js';

export interface HostKeyRejection {
  readonly reason: 'host-key-unknown' | 'host-key-mismatch' | 'host-key-revoked' | 'host-key-fingerprint';
  /** The presented key as OpenSSH prints it: `SHA256:<base64>`, ready to pin. */
  readonly fingerprint: string;
  readonly keyType: string;
}

/** How a server proves who it is: not at all, by a pinned fingerprint, or by known_hosts files. */
export type HostKeyPolicy =
  | { readonly kind: 'off' }
  | { readonly kind: 'fingerprint'; readonly fingerprint: string }
  | { readonly kind: 'known-hosts'; readonly knownHosts: KnownHosts };

/** The check of one connection: ssh2's hostVerifier, and why it said no. */
export interface HostKeyCheck {
  verify(key: Buffer): boolean;
  /** Host key algorithms to offer, or undefined for ssh2's defaults. */
  readonly algorithms: string[] | undefined;
  readonly rejection: HostKeyRejection | undefined;
}

/** `SHA256:` and the unpadded base64 of the key blob's SHA-256, as `ssh-keygen -l` prints it. */
export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** A fingerprint as given by a user, normalised; null when it is not a SHA256 one. */
export function parseFingerprint(value: string): string | null {
  const match = /^SHA256:([A-Za-z0-9+/]{43})=?$/.exec(value.trim());
  return match === null ? null : `SHA256:${match[1]}`;
}

/** The first string of an SSH public key blob names its type (RFC 4253 §6.6). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const length = key.readUInt32BE(0);
  return key.subarray(4, 4 + length).toString('latin1');
}

/** An RSA key signs with SHA-2 now; the key type in known_hosts stays `ssh-rsa`. */
const algorithmsOfKeyType: Readonly<Record<string, readonly string[]>> = {
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
};

export function hostKeyCheck(policy: HostKeyPolicy, host: string, port: number): HostKeyCheck {
  let rejection: HostKeyRejection | undefined;
  const reject = (reason: HostKeyRejection['reason'], key: Buffer) => {
    rejection = { reason, fingerprint: fingerprintOf(key), keyType: keyTypeOf(key) };
    return false;
  };
  const verify = (key: Buffer): boolean => {
    switch (policy.kind) {
      case 'off':
        return true;
      case 'fingerprint':
        return fingerprintOf(key) === policy.fingerprint || reject('host-key-fingerprint', key);
      case 'known-hosts': {
        const verdict = policy.knownHosts.verdict(host, port, key);
        return verdict === 'known' || reject(`host-key-${verdict}`, key);
      }
    }
  };
  return {
    verify,
    algorithms: policy.kind === 'known-hosts' ? knownAlgorithms(policy.knownHosts, host, port) : undefined,
    get rejection() {
      return rejection;
    },
  };
}

/**
 * Like OpenSSH's ssh, ask for the key types known_hosts holds for this host: a server with an
 * Ed25519 and an RSA key must show the one we can check, not the one ssh2 prefers.
 */
function knownAlgorithms(knownHosts: KnownHosts, host: string, port: number): string[] | undefined {
  const algorithms = knownHosts.keyTypes(host, port).flatMap((type) => algorithmsOfKeyType[type] ?? []);
  return algorithms.length > 0 ? algorithms : undefined;
}
