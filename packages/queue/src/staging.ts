import { randomBytes } from 'node:crypto';
import { rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { NectarError, holdDestination, syncFolder } from '@nectar/core/backend';

/**
 * Two executions of one job can overlap (a worker frozen past its lock while another takes the
 * job over). Each execution therefore downloads to its own stage file, named after its worker,
 * through core's atomic writer (part file, verify, fsync, rename); only a complete, verified
 * stage is renamed over the destination. Whichever rename lands last, the file is whole.
 */
const stagePattern = /\.q-([A-Za-z0-9_-]+)-[0-9a-f]{8}\.nectar-stage(?:\.nectar-part(?:\.json|\.lock)?)?$/;

export function stagePath(destination: string, workerId: string): string {
  const tag = `q-${workerId}-${randomBytes(4).toString('hex')}`;
  return join(dirname(destination), `.${basename(destination)}.${tag}.nectar-stage`);
}

/** The worker that wrote a stage file (or its core part file), or null for any other file. */
export function stageOwner(fileName: string): string | null {
  return stagePattern.exec(fileName)?.[1] ?? null;
}

/** A worker id usable inside file names. */
export function safeWorkerId(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** Fails early, naming the real destination, rather than after a whole download. */
export async function checkDestination(destination: string): Promise<void> {
  const existing = await stat(destination).catch(() => null);
  if (existing?.isDirectory()) {
    throw new NectarError('NECTAR_DESTINATION', `destination ${destination} is a directory; give a file path`, { details: { destination } });
  }
}

/** Moves a verified stage over the destination; with fsync, the folder entry is made durable too. */
export async function commitStage(stage: string, destination: string, fsync: boolean): Promise<void> {
  // A local run writing the same destination holds its part file's lock: never move over it.
  const release = await holdDestination(destination).catch(async (error: unknown) => {
    await unlink(stage).catch(() => {});
    throw error;
  });
  try {
    await rename(stage, destination);
    if (fsync) await syncFolder(dirname(destination));
  } catch (error) {
    await unlink(stage).catch(() => {});
    throw new NectarError('NECTAR_DESTINATION', `cannot move the finished file to ${destination}: ${(error as Error).message}`, {
      cause: error,
      details: { destination },
    });
  } finally {
    await release();
  }
}
