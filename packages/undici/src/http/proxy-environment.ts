/** The environment variables that name a proxy, in the spellings undici reads. */
const proxyVariables = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY'];

/** Whether the environment names a proxy (NO_PROXY alone only narrows one that is named). */
export function environmentNamesProxy(env: NodeJS.ProcessEnv = process.env): boolean {
  return proxyVariables.some((name) => (env[name] ?? '') !== '');
}
