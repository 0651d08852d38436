import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { UsageError } from './args.js';

/**
 * The URLs of a run: those on the command line, then those of the -i list, read line by line
 * as downloads need them (a list of millions never sits in memory). Blank lines and lines
 * starting with # are skipped. The signal ends the reading, so Ctrl-C does not wait for stdin.
 */
export async function* urlSource(
  urls: readonly string[],
  list: NodeJS.ReadableStream | undefined,
  signal: AbortSignal,
): AsyncGenerator<string, void, undefined> {
  yield* urls;
  if (list === undefined || signal.aborted) return;
  const lines = createInterface({ input: list, crlfDelay: Number.POSITIVE_INFINITY, signal });
  try {
    for await (const line of lines) {
      const url = line.trim();
      if (url !== '' && !url.startsWith('#')) yield url;
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  } finally {
    lines.close();
    // An interrupted run leaves the list half read: its file handle must not keep the process up.
    (list as Partial<Pick<NodeJS.ReadStream, 'destroy'>>).destroy?.();
  }
}

/** Opens -i LIST ('-' is stdin) before anything starts: a missing list is a usage error. */
export async function openList(path: string | undefined, cwd: string, stdin: NodeJS.ReadableStream): Promise<NodeJS.ReadableStream | undefined> {
  if (path === undefined) return undefined;
  if (path === '-') return stdin;
  try {
    const handle = await open(resolve(cwd, path), 'r');
    return handle.createReadStream();
  } catch (error) {
    throw new UsageError(`cannot read the list ${path}: ${(error as Error).message}`);
  }
}
