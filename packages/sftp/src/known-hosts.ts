import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** One line of an OpenSSH known_hosts file (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"). */
export interface KnownHost {
  readonly marker: 'revoked' | 'cert-authority' | null;
  readonly patterns: readonly string[];
  readonly keyType: string;
  /** The public key blob, base64 as in the file. */
  readonly key: string;
}

export type KnownHostVerdict = 'known' | 'unknown' | 'mismatch' | 'revoked';

/** The keys known_hosts files hold, looked up the way OpenSSH's ssh does. */
export class KnownHosts {
  readonly entries: readonly KnownHost[];

  constructor(entries: readonly KnownHost[]) {
    this.entries = entries;
  }

  static parse(text: string): KnownHosts {
    return new KnownHosts(text.split(/\r?\n/).flatMap((line) => parseLine(line) ?? []));
  }

  /** Reads the files that exist; `required` ones must exist. */
  static async load(paths: readonly string[], required: boolean): Promise<KnownHosts> {
    const texts = await Promise.all(paths.map((path) => readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (!required && error.code === 'ENOENT') return '';
      throw error;
    })));
    return KnownHosts.parse(texts.join('\n'));
  }

  /** Entries that name this host; OpenSSH writes a non-default port as `[host]:port`. */
  lookup(host: string, port: number): KnownHost[] {
    const name = port === 22 ? host : `[${host}]:${port}`;
    return this.entries.filter((entry) => matchesHost(entry.patterns, name));
  }

  /** What these files say of `key` presented by host:port. */
  verdict(host: string, port: number, key: Buffer): KnownHostVerdict {
    const blob = key.toString('base64');
    // Certificate authorities sign host certificates, which this client does not ask for.
    const entries = this.lookup(host, port).filter((e) => e.marker !== 'cert-authority');
    if (entries.some((e) => e.marker === 'revoked' && e.key === blob)) return 'revoked';
    const plain = entries.filter((e) => e.marker === null);
    if (plain.some((e) => e.key === blob)) return 'known';
    return plain.length > 0 ? 'mismatch' : 'unknown';
  }

  /** The key types known for host:port: the algorithms worth asking the server for. */
  keyTypes(host: string, port: number): string[] {
    return [...new Set(this.lookup(host, port).filter((e) => e.marker === null).map((e) => e.keyType))];
  }
}

function parseLine(line: string): KnownHost | null {
  const fields = line.trim().split(/\s+/);
  if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) return null;
  let marker: KnownHost['marker'] = null;
  if (fields[0].startsWith('@')) {
    const name = fields.shift();
    if (name !== '@revoked' && name !== '@cert-authority') return null;
    marker = name === '@revoked' ? 'revoked' : 'cert-authority';
  }
  const [hosts, keyType, key] = fields;
  if (hosts === undefined || keyType === undefined || key === undefined) return null;
  return { marker, patterns: hosts.split(','), keyType, key };
}

/** A negated pattern that matches vetoes the line, as in OpenSSH's match_hostname(). */
function matchesHost(patterns: readonly string[], name: string): boolean {
  let matched = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    if (!matchesPattern(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function matchesPattern(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) return matchesHashed(pattern, name);
  if (!/[*?]/.test(pattern)) return pattern.toLowerCase() === name.toLowerCase();
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 'i').test(name);
}

/** `|1|salt|hash` (HashKnownHosts yes): HMAC-SHA1 of the name keyed with the salt. */
function matchesHashed(pattern: string, name: string): boolean {
  const [, , salt, hash] = pattern.split('|');
  if (salt === undefined || hash === undefined) return false;
  const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return digest === hash;
}
