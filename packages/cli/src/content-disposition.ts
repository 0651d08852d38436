/**
 * The file name of a Content-Disposition header (RFC 6266): `filename*` (RFC 8187,
 * `UTF-8''caf%C3%A9.txt`) wins over `filename`; undefined when neither is there. The result is
 * raw: sanitise it before use.
 */
export function filenameFromContentDisposition(header: string): string | undefined {
  const params = parameters(header);
  const extended = params.get('filename*');
  if (extended !== undefined) {
    const decoded = decodeExtended(extended);
    if (decoded !== undefined) return decoded;
  }
  return params.get('filename');
}

/** `attachment; a=b; c="d;e"` → { a: 'b', c: 'd;e' }, names lower-cased. */
function parameters(header: string): Map<string, string> {
  const params = new Map<string, string>();
  const pattern = /;\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g;
  for (const match of header.matchAll(pattern)) {
    const value = match[2]!.trim();
    const unquoted = value.startsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value;
    params.set(match[1]!.toLowerCase(), unquoted);
  }
  return params;
}

function decodeExtended(value: string): string | undefined {
  const match = /^([\w!#$%&+^`{}~-]*)'[^']*'(.*)$/.exec(value);
  if (match === null) return undefined;
  const charset = match[1]!.toLowerCase();
  try {
    if (charset === 'utf-8') return decodeURIComponent(match[2]!);
    if (charset === 'iso-8859-1') return match[2]!.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  } catch {
    return undefined;
  }
  return undefined;
}
