import { parseArgs } from 'node:util';
import { headerSecrets, urlSecrets } from '@nectar/core/backend';
import { isAbsoluteUrl, withScheme } from './urls.js';

/** A mistake on the command line: exit status 2, with the usage printed. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Every option of `nectar get`, as util.parseArgs reads it. */
const options = {
  output: { type: 'string', short: 'o' },
  directory: { type: 'string', short: 'd' },
  'input-file': { type: 'string', short: 'i' },
  backend: { type: 'string' },
  'max-concurrent': { type: 'string', short: 'j' },
  'limit-rate': { type: 'string' },
  'max-per-host': { type: 'string' },
  'parallel-max-host': { type: 'string' },
  'host-rate': { type: 'string' },
  'limit-rate-per-host': { type: 'string' },
  'max-bytes-in-flight': { type: 'string' },
  http2: { type: 'boolean' },
  socks5: { type: 'string' },
  'socks5-hostname': { type: 'string' },
  user: { type: 'string', short: 'u' },
  header: { type: 'string', short: 'H', multiple: true },
  'user-agent': { type: 'string', short: 'A' },
  proxy: { type: 'string', short: 'x' },
  'proxy-user': { type: 'string' },
  netrc: { type: 'boolean' },
  'netrc-file': { type: 'string' },
  insecure: { type: 'boolean', short: 'k' },
  'ssh-key': { type: 'string', multiple: true },
  'ssh-key-passphrase': { type: 'string' },
  'ssh-agent': { type: 'boolean' },
  'known-hosts': { type: 'string' },
  cacert: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'connect-timeout': { type: 'string' },
  timeout: { type: 'string', short: 'm' },
  'idle-timeout': { type: 'string' },
  retry: { type: 'string' },
  'retry-delay': { type: 'string' },
  'max-redirs': { type: 'string' },
  'location-trusted': { type: 'boolean' },
  compressed: { type: 'boolean' },
  'max-filesize': { type: 'string' },
  checksum: { type: 'string' },
  mirror: { type: 'string', multiple: true },
  continue: { type: 'boolean', short: 'c' },
  force: { type: 'boolean', short: 'f' },
  'skip-existing': { type: 'boolean', short: 'n' },
  timestamping: { type: 'boolean', short: 'N' },
  'content-disposition': { type: 'boolean', short: 'J' },
  state: { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q', multiple: true },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

type Parsed = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true; strict: true }>>;

/** The option values, keyed by their long names. */
export type GetOptions = Parsed['values'];

export type Command =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'get'; urls: string[]; options: GetOptions };

/** `nectar [get] URL… [options]`, `nectar help`, `nectar --help`, `nectar --version`. */
export function parseCommand(argv: readonly string[]): Command {
  const parsed = parse(argv);
  const { values } = parsed;
  const positionals = [...parsed.positionals];
  if (values.help === true || positionals[0] === 'help') return { kind: 'help' };
  if (values.version === true) return { kind: 'version' };
  if (positionals[0] === 'get') positionals.shift();
  if (positionals.length === 0 && values['input-file'] === undefined) {
    throw new UsageError(argv.length === 0 ? 'no URL given' : 'no URL given: name one or more URLs, or a list with -i FILE');
  }
  const bad = positionals.find((url) => !isAbsoluteUrl(url));
  if (bad !== undefined) throw new UsageError(`not an absolute URL: ${JSON.stringify(bad)} (give the scheme: https://…, file://…)`);
  checkDestinations(positionals, values);
  return { kind: 'get', urls: positionals, options: values };
}

function parse(argv: readonly string[]): Parsed {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes; their messages are fit for users.
    throw new UsageError((error as Error).message);
  }
}

/**
 * The secrets typed on a command line, for core's Redactor to mask wherever they appear: -u and
 * --proxy-user passwords, --ssh-key-passphrase, URL and -x passwords and token parameters (with
 * or without a scheme), credential header values. Read leniently, so that even the message
 * saying the command line is wrong is masked.
 */
export function commandLineSecrets(argv: readonly string[]): string[] {
  let tokens: ReturnType<typeof parseArgs>['tokens'];
  try {
    ({ tokens } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: false, tokens: true }));
  } catch {
    return [];
  }
  return tokens.flatMap((token) => {
    if (token.kind === 'positional') return urlSecrets(withScheme(token.value));
    if (token.kind !== 'option' || token.value === undefined) return [];
    if (token.name === 'user' || token.name === 'proxy-user') return token.value.split(':').slice(1).join(':');
    if (token.name === 'ssh-key-passphrase') return token.value;
    if (token.name === 'proxy' || token.name === 'mirror') return urlSecrets(withScheme(token.value));
    if (token.name === 'socks5' || token.name === 'socks5-hostname') return urlSecrets(`socks5://${token.value}`);
    if (token.name === 'header') {
      const [name = '', ...value] = token.value.split(':');
      return headerSecrets({ [name.trim()]: value.join(':').trim() });
    }
    return [];
  });
}

function checkDestinations(urls: readonly string[], values: GetOptions): void {
  const several = urls.length > 1 || values['input-file'] !== undefined;
  if (values.output !== undefined && values.directory !== undefined) throw new UsageError('-o FILE and -d DIR cannot be combined');
  if (values.output !== undefined && several) throw new UsageError('-o FILE takes exactly one URL; use -d DIR for several');
  // -o - owns stdout: a report line in the middle of the body would corrupt it.
  if (values.output === '-' && values.json === true) throw new UsageError('-o - writes the body to stdout; --json cannot share it');
  if (values.checksum !== undefined && several) throw new UsageError('--checksum applies to one URL only');
  if (values.mirror !== undefined && several) throw new UsageError('--mirror applies to one URL only');
  if (values.force === true && values['skip-existing'] === true) throw new UsageError('--force and --skip-existing contradict each other');
  if (values.timestamping === true && values['skip-existing'] === true) throw new UsageError('--timestamping and --skip-existing contradict each other');
  if (values.timestamping === true && values.output === '-') throw new UsageError('--timestamping needs a file to compare with; -o - has none');
  if (values.state !== undefined && values.output === '-') throw new UsageError('--state records files; -o - writes none');
}

export const usage = `Usage: nectar [get] URL... [options]
       nectar worker [options]   (a @nectar/queue worker; nectar worker --help)
       nectar queue <command>    (operate a @nectar/queue farm; nectar queue --help)
       nectar help | --help | --version

Download URLs (http, https, file; sftp with @nectar/sftp installed) with progress bars.

Destination:
  -d, --directory DIR       save into DIR (default: the current directory; created if missing)
  -o, --output FILE         save the one URL as FILE ('-' = stdout)
  -i, --input-file LIST     read URLs from LIST, one per line ('-' = stdin; # comments)
  -f, --force               overwrite existing files
  -c, --continue            keep partial files of failed/canceled downloads and resume them
                            next time; existing files are skipped unless a part is beside them
  -n, --skip-existing       skip URLs whose file exists (exit status 0)
  -N, --timestamping        download only if newer than the existing file (If-Modified-Since);
                            the file gets the server's Last-Modified time
  -J, --content-disposition name files by the server's Content-Disposition header
      --state FILE          remember every file in FILE (validators, size, mtime, digest):
                            a later run asks only "changed?" (304: kept as it is), skips
                            files whose --checksum it knows, links known copies, resumes
                            the part files a killed run left

Transfer:
      --backend NAME        http(s) backend: undici (default) or axios
  -j, --max-concurrent N    downloads at once (default 8)
      --limit-rate RATE     bytes/s for all downloads together: 500K, 2M, 1G (1024-based)
      --max-per-host N      downloads at once per host (also --parallel-max-host)
      --host-rate N[/s|/m]  requests per second (or minute) per host, retries included
      --limit-rate-per-host RATE  bytes/s per host, all its downloads together
      --max-bytes-in-flight SIZE  bytes of the files being fetched at once, each counted
                            by its announced size: 2G; one file alone always goes
      --http2               offer HTTP/2 on https (undici); the server decides
  -u, --user USER:PASS      basic auth for the server
  -H, --header 'N: V'       extra request header (repeatable)
  -A, --user-agent UA       User-Agent header (default nectar/<version>)
      --netrc               credentials per host from ~/.netrc (http, https)
      --netrc-file FILE     credentials per host from FILE
  -x, --proxy URL           proxy, [http://][user:pass@]host:port; https://, socks5://
                            (names resolved here) or socks5h:// (by the proxy)
      --socks5 HOST:PORT    SOCKS5 proxy (= -x socks5://HOST:PORT)
      --socks5-hostname H:P SOCKS5 proxy that resolves names (= -x socks5h://H:P)
      --proxy-user U:P      proxy credentials
  -k, --insecure            do not verify TLS certificates
      --cacert FILE         trust only this CA (PEM)
      --cert FILE           client certificate (PEM; may hold the key)
      --key FILE            client private key (PEM)
      --connect-timeout S   seconds to connect (default 10)
  -m, --timeout S           seconds for a whole attempt (default: no limit)
      --idle-timeout S      seconds a body may stall (default 30)
      --retry N             retries of transient failures (default 3)
      --retry-delay S       first retry delay in seconds, doubling (default 0.5)
      --max-redirs N        redirects to follow (default 20)
      --location-trusted    keep credentials on cross-origin redirects
      --compressed          ask for compression, save decoded bytes
      --ssh-key FILE        sftp: log in with this private key; repeat it to try several
                            in turn (default: those of ~/.ssh/id_rsa, id_ecdsa, id_ed25519,
                            id_dsa that exist; encrypted ones only with a passphrase)
      --ssh-key-passphrase P
                            sftp: passphrase of the encrypted keys (or the environment's
                            NECTAR_SSH_PASSPHRASE, which ps cannot show)
      --ssh-agent           sftp: log in through the ssh-agent at $SSH_AUTH_SOCK
      --known-hosts FILE    sftp: trust the host keys in FILE (default: ~/.ssh/known_hosts
                            and /etc/ssh/ssh_known_hosts); -k skips the check
      --max-filesize SIZE   fail files larger than SIZE (500K, 2M, 1G)
      --checksum ALG:HEX    verify the digest (e.g. sha256:9f86d0…); one URL only
      --mirror URL          fallback URL for the same file (repeatable); one URL only

Output:
      --json                one JSON report per line on stdout
  -q, --quiet               only errors and the summary; -qq: nothing
  -h, --help                this text
  -V, --version             the version

Exit status: 0 all downloads succeeded, 2 usage error; a failure gives its cause (the lowest of
             several): 3 local I/O, 4 network, 5 TLS, 6 auth, 7 protocol, 8 server error status,
             9 not found, 10 checksum, 1 any other; 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP.
`;
