/** What a line on stderr is, for the colour it gets on a terminal that takes colours. */
export type LineStyle = 'failure';

const styles: Record<LineStyle, readonly [string, string]> = {
  failure: ['\u001b[31m', '\u001b[39m'],
};

/**
 * Colours for stderr: only on a terminal, and only when Node says it takes them — hasColors()
 * reads NO_COLOR, NODE_DISABLE_COLORS, FORCE_COLOR and TERM=dumb, so a user's choice wins. Node
 * takes an empty NO_COLOR as set; no-color.org says an empty one must be ignored, so it is.
 */
export function colourfulTerminal(stream: { readonly isTTY?: boolean; hasColors?(env?: NodeJS.ProcessEnv): boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (stream.isTTY !== true || typeof stream.hasColors !== 'function') return false;
  if (env.NO_COLOR !== '') return stream.hasColors(env);
  const { NO_COLOR: _ignored, ...rest } = env;
  return stream.hasColors(rest);
}

/** The text in its style's colour; applied after masking and escaping, so nothing of the user's can end it. */
export function styled(text: string, style: LineStyle | undefined, colours: boolean): string {
  if (style === undefined || !colours) return text;
  const [open, close] = styles[style];
  return `${open}${text}${close}`;
}
