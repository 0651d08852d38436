// Our downloader packages, loaded by name, for the child scripts that run them.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DownloaderConfig } from '@nectar/core';

const PACKAGES = {
  undici: ['@nectar/undici', 'UndiciDownloader'],
  axios: ['@nectar/axios', 'AxiosDownloader'],
  file: ['@nectar/file', 'FileDownloader'],
  sftp: ['@nectar/sftp', 'SftpDownloader'],
};

/** A new downloader of `backend` ('undici', 'axios', 'file' or 'sftp') with these config fields. */
export async function createDownloader(backend, fields, listener) {
  const [name, exportName] = PACKAGES[backend];
  const module = await import(name);
  return new module[exportName](new DownloaderConfig(fields), listener);
}

/** Why `backend` cannot run (not installed or not built), or null when it can. */
export function backendUnavailable(backend) {
  const [name] = PACKAGES[backend];
  return packageUnavailable(name);
}

export function packageUnavailable(name) {
  let path;
  try {
    path = fileURLToPath(import.meta.resolve(name));
  } catch {
    return `${name} is not installed (npm install at the repository root)`;
  }
  return existsSync(path) ? null : `${name} is not built (npm run build)`;
}
