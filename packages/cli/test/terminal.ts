import { spawn } from 'node:child_process';
import { once } from 'node:events';
import xterm from '@xterm/headless';
import { BIN } from './cli-process.js';

export interface TerminalOptions {
  readonly columns: number;
  readonly rows: number;
  readonly cwd?: string;
  /** Added to the environment (TERM=xterm-256color unless given). */
  readonly env?: Record<string, string | undefined>;
}

export interface TerminalLine {
  readonly text: string;
  /** The terminal wrapped the line before it onto this row: it was wider than the terminal. */
  readonly wrapped: boolean;
  /** Its first character is drawn in red (palette colour 1). */
  readonly red: boolean;
}

export interface TerminalResult {
  readonly code: number | null;
  /** Everything the program wrote, escape sequences included. */
  readonly raw: string;
  /** The visible rows after every chunk of output: what a user saw, frame by frame. */
  readonly frames: readonly string[][];
  /** Scrollback and screen at the end, as the terminal holds them. */
  readonly lines: readonly TerminalLine[];
}

/** Single quotes for sh, so that URLs with `?` and `&` reach nectar as they are. */
const quote = (arg: string) => `'${arg.replaceAll("'", "'\\''")}'`;

/**
 * Runs the built nectar in a pseudo-terminal of the given size (util-linux `script`), and feeds
 * what it draws to a real terminal emulator (xterm.js, headless): the tests read the screen and
 * the scrollback a user would see, not the escape sequences.
 */
export async function runInTerminal(args: readonly string[], options: TerminalOptions): Promise<TerminalResult> {
  const command = `stty cols ${options.columns} rows ${options.rows}; exec ${quote(process.execPath)} ${[BIN, ...args].map(quote).join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: options.cwd,
    // A user's terminal: CI=true (as .ci/run sets it) makes Node's hasColors() say no colours.
    env: { ...process.env, TERM: 'xterm-256color', NO_COLOR: undefined, FORCE_COLOR: undefined, CI: undefined, ...options.env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const terminal = new xterm.Terminal({ cols: options.columns, rows: options.rows, scrollback: 5000, allowProposedApi: true });
  const frames: string[][] = [];
  let raw = '';
  let written = Promise.resolve();
  child.stdout.on('data', (chunk: Buffer) => {
    raw += chunk.toString('utf8');
    written = written.then(() => new Promise<void>((resolve) => terminal.write(chunk, resolve))).then(() => {
      frames.push(screen(terminal));
    });
  });
  const [code] = (await once(child, 'close')) as [number | null];
  await written;
  return { code, raw, frames, lines: allLines(terminal) };
}

function screen(terminal: xterm.Terminal): string[] {
  const buffer = terminal.buffer.active;
  const rows: string[] = [];
  for (let y = 0; y < terminal.rows; y++) rows.push(buffer.getLine(buffer.baseY + y)?.translateToString(true) ?? '');
  return rows;
}

function allLines(terminal: xterm.Terminal): TerminalLine[] {
  const buffer = terminal.buffer.active;
  const lines: TerminalLine[] = [];
  for (let y = 0; y < buffer.length; y++) {
    const line = buffer.getLine(y);
    const first = line?.getCell(0);
    const red = first !== undefined && Boolean(first.isFgPalette()) && first.getFgColor() === 1;
    if (line !== undefined) lines.push({ text: line.translateToString(true), wrapped: line.isWrapped, red });
  }
  return lines;
}

/** Seconds in an ETA as the display prints it ("ETA 3.0 s", "ETA 12 s", "ETA 1m05s"). */
export function etaSeconds(text: string): number | null {
  const match = /ETA (?:(\d+)m(\d+)s|(\d+(?:\.\d+)?) s)/.exec(text);
  if (match === null) return null;
  return match[3] !== undefined ? Number(match[3]) : Number(match[1]) * 60 + Number(match[2]);
}
