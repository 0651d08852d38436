import { userInfo } from 'node:os';
import { NectarError, redactUrl, type ResolvedConfig } from '@nectar/core/backend';

/** Who logs in where, and which file they read. */
export interface SftpTarget {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string | undefined;
  /** The remote path as the server resolves it: absolute, or relative to the login folder. */
  readonly path: string;
  /** The server and user, for errors about the connection rather than the file. */
  readonly server: URL;
  /** Connections are shared only between transfers with the same key. */
  readonly key: string;
}

/**
 * Reads `sftp://user:password@host:port/path`. The URL's user wins over config.basicAuthUsername;
 * config.basicAuthPassword applies when the URL has no password and names the same user (or none).
 * Without any user name, the local one is used, as OpenSSH's ssh does.
 */
export function sftpTarget(url: URL, config: ResolvedConfig): SftpTarget {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 22 : Number(url.port);
  const username = url.username !== '' ? decodeURIComponent(url.username) : (config.basicAuthUsername ?? localUser(url));
  const urlPassword = url.password !== '' ? decodeURIComponent(url.password) : undefined;
  const password = urlPassword ?? (config.basicAuthUsername === username ? config.basicAuthPassword : undefined);
  const server = new URL(url.href);
  server.password = '';
  server.pathname = '/';
  server.search = '';
  server.hash = '';
  return { host, port, username, password, path: remotePath(url), server, key: JSON.stringify([host, port, username, password ?? null]) };
}

/** `/~/x` means x in the login folder (as curl reads it); anything else is an absolute path. */
function remotePath(url: URL): string {
  const path = decodeURIComponent(url.pathname);
  if (path === '/~' || path === '/~/') return '.';
  return path.startsWith('/~/') ? path.slice(3) : path;
}

function localUser(url: URL): string {
  try {
    return userInfo().username;
  } catch (error) {
    throw new NectarError('NECTAR_INVALID_REQUEST', `${redactUrl(url)} names no user, and the local user name is unknown: put it in the URL (sftp://user@host/…) or config.basicAuthUsername`, {
      cause: error,
    });
  }
}
