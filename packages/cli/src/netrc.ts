import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from './args.js';

/** One `machine` (or `default`) entry of a netrc file. */
export interface NetrcEntry {
  readonly login: string;
  readonly password: string;
}

/** The entries of a netrc file, looked up by host as curl does. */
export class Netrc {
  readonly #machines: ReadonlyArray<{ host: string; entry: NetrcEntry }>;
  readonly #default: NetrcEntry | undefined;

  constructor(machines: ReadonlyArray<{ host: string; entry: NetrcEntry }>, fallback: NetrcEntry | undefined) {
    this.#machines = machines;
    this.#default = fallback;
  }

  /**
   * The first entry for `host` (and for `user`, when the URL names one), else `default`. A URL
   * naming a user the file does not know gets nothing rather than another user's password.
   */
  find(host: string, user = ''): NetrcEntry | undefined {
    const matches = (entry: NetrcEntry) => user === '' || entry.login === user;
    const machine = this.#machines.find((m) => m.host === host.toLowerCase() && matches(m.entry));
    if (machine !== undefined) return machine.entry;
    return this.#default !== undefined && matches(this.#default) ? this.#default : undefined;
  }

  /** Every password, for the redactor: none may reach a line, even one for another host. */
  get passwords(): string[] {
    return [...this.#machines.map((m) => m.entry.password), this.#default?.password ?? ''].filter((p) => p !== '');
  }
}

/**
 * --netrc (~/.netrc, ignored when missing, as curl does) or --netrc-file FILE (which must exist).
 * Undefined when neither was asked for.
 */
export async function loadNetrc(flag: boolean | undefined, file: string | undefined, cwd: string): Promise<Netrc | undefined> {
  if (file === undefined && flag !== true) return undefined;
  const path = file === undefined ? join(homedir(), '.netrc') : resolve(cwd, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (file === undefined && (error as NodeJS.ErrnoException).code === 'ENOENT') return new Netrc([], undefined);
    throw new UsageError(`cannot read the netrc file ${path}: ${(error as Error).message}`);
  }
  return parseNetrc(text, path);
}

/** machine/default/login/password/account/macdef, with curl's quoted strings. */
export function parseNetrc(text: string, name = 'netrc'): Netrc {
  const machines: Array<{ host: string; entry: NetrcEntry }> = [];
  let fallback: NetrcEntry | undefined;
  let current: { host: string | undefined; login: string; password: string } | undefined;
  const close = () => {
    if (current === undefined) return;
    const entry = { login: current.login, password: current.password };
    if (current.host === undefined) fallback ??= entry;
    else machines.push({ host: current.host, entry });
    current = undefined;
  };
  const tokens = tokenize(text);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    // Never the value in a message: it may be a password.
    const value = () => {
      const next = tokens[++i];
      if (next === undefined) throw new UsageError(`${name}: "${token}" needs a value`);
      return next;
    };
    if (token === 'machine') {
      close();
      current = { host: value().toLowerCase(), login: '', password: '' };
    } else if (token === 'default') {
      close();
      current = { host: undefined, login: '', password: '' };
    } else if (token === 'login' && current !== undefined) current.login = value();
    else if (token === 'password' && current !== undefined) current.password = value();
    else if (token === 'account') value();
  }
  close();
  return new Netrc(machines, fallback);
}

/** Whitespace-separated words; "quoted words" with \\ escapes; a macdef body (to a blank line) dropped. */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|(\S+)|(\n[ \t]*\n)/g;
  let inMacro = false;
  for (const match of text.matchAll(pattern)) {
    if (match[3] !== undefined) {
      inMacro = false;
      continue;
    }
    if (inMacro) continue;
    const token = match[1] === undefined ? match[2]! : match[1].replace(/\\(.)/g, '$1');
    if (token === 'macdef' && match[1] === undefined) inMacro = true;
    else tokens.push(token);
  }
  return tokens;
}
