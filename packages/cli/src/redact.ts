/** `scheme://user:password@` anywhere in a text: what must never reach a terminal or a log. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#:@"]*):[^\s/?#@"]*@/gi;

/**
 * Masks the password of every URL in a text, as core's redactUrl does for one URL. Every line
 * the CLI prints passes through here, so an error message quoting a URL cannot leak it either.
 */
export function redactText(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1:***@');
}

export type LineWriter = (line: string) => void;

/** Writes whole lines to a stream, redacted. */
export function lineWriter(stream: NodeJS.WritableStream): LineWriter {
  return (line) => {
    stream.write(`${redactText(line)}\n`);
  };
}
