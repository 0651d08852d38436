/** A URL fit for a log line or an errorReport: the password is masked, the username kept. */
export function redactUrl(url: string | URL): string {
  if (!(url instanceof URL) && !URL.canParse(url)) return String(url);
  const parsed = new URL(url);
  if (parsed.password === '') return parsed.href;
  parsed.password = '***';
  return parsed.href;
}
