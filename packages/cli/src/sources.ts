import { type FileHandle, open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { UsageError } from './args.js';

/** The -i list failed while being read (after it opened): the run ends with what it read so far. */
export class ListReadError extends Error {
  override readonly name = 'ListReadError';
}

/**
 * The URLs of a run: those on the command line, then those of the -i list, read line by line
 * as downloads need them (a list of millions never sits in memory). Blank lines and lines
 * starting with # are skipped. The signal ends the reading, so Ctrl-C does not wait for stdin.
 */
export async function* urlSource(
  urls: readonly string[],
  list: { name: string; stream: NodeJS.ReadableStream } | undefined,
  signal: AbortSignal,
): AsyncGenerator<string, void, undefined> {
  yield* urls;
  if (list === undefined || signal.aborted) return;
  const lines = createInterface({ input: list.stream, crlfDelay: Number.POSITIVE_INFINITY, signal });
  try {
    for await (const line of lines) {
      const url = line.trim();
      if (url !== '' && !url.startsWith('#')) yield url;
    }
  } catch (error) {
    if (!signal.aborted) throw new ListReadError(`cannot read the list ${list.name}: ${(error as Error).message}`, { cause: error });
  } finally {
    lines.close();
    // An interrupted run leaves the list half read: its file handle must not keep the process up.
    (list.stream as Partial<Pick<NodeJS.ReadStream, 'destroy'>>).destroy?.();
  }
}

/**
 * Opens -i LIST ('-' is stdin) before anything starts: a missing or unreadable list, or a
 * folder, is a usage error.
 */
export async function openList(
  path: string | undefined,
  cwd: string,
  stdin: NodeJS.ReadableStream,
): Promise<{ name: string; stream: NodeJS.ReadableStream } | undefined> {
  if (path === undefined) return undefined;
  if (path === '-') return { name: 'from stdin', stream: stdin };
  let handle: FileHandle;
  try {
    handle = await open(resolve(cwd, path), 'r');
  } catch (error) {
    throw new UsageError(`cannot read the list ${path}: ${(error as Error).message}`);
  }
  // A folder opens fine on Linux and fails only at the first read, after downloads began.
  if ((await handle.stat()).isDirectory()) {
    await handle.close();
    throw new UsageError(`cannot read the list ${path}: it is a folder`);
  }
  return { name: path, stream: handle.createReadStream() };
}
