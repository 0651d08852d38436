import type { ResolvedConfig } from '../config.js';
import { basicAuthorization } from './headers.js';

/** The proxy a config names, ready for a transport: URL without credentials, port filled in. */
export interface ProxySettings {
  url: URL;
  username?: string;
  password?: string;
  /** `Basic …` for Proxy-Authorization, when a username is given. */
  authorization?: string;
}

export function proxyFromConfig(config: ResolvedConfig): ProxySettings | null {
  if (config.proxyUrl === undefined) return null;
  const url = new URL(config.proxyUrl);
  if (config.proxyPort !== undefined) url.port = String(config.proxyPort);
  // Credentials in the URL are honoured, but the fields win; either way they leave the URL.
  const username = config.proxyUsername ?? (url.username !== '' ? decodeURIComponent(url.username) : undefined);
  const password = config.proxyPassword ?? (url.password !== '' ? decodeURIComponent(url.password) : undefined);
  url.username = '';
  url.password = '';
  const settings: ProxySettings = { url };
  if (username !== undefined) {
    settings.username = username;
    settings.password = password ?? '';
    settings.authorization = basicAuthorization(username, password ?? '');
  }
  return settings;
}
