/** `scheme:` at the start of a URL. */
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/**
 * A URL the CLI can download: it parses, and its scheme is followed by a slash (`https://`,
 * `file:///`, `sftp://`). `host:8080/x` and `ann:pw@host/x` parse too — as the schemes `host:`
 * and `ann:` — but they are URLs typed without their scheme, and must not be downloaded, or
 * named after, as if they had one.
 */
export function isAbsoluteUrl(text: string): boolean {
  const scheme = SCHEME.exec(text);
  return scheme !== null && text[scheme[0].length] === '/' && URL.canParse(text);
}

/** A URL typed without its scheme (`ann:pw@proxy:3128`) read as http://, as curl reads a proxy. */
export function withScheme(text: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
}
