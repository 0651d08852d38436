import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { partPath } from '@nectar/core/backend';
import { afterEach, describe, expect, it } from 'vitest';
import { stageOwner, sweepStages } from '../src/index.js';
import { stagePath } from '../src/staging.js';
import { tempFolder } from './support/farm.js';

describe('start-up sweep', () => {
  const folders: Array<Awaited<ReturnType<typeof tempFolder>>> = [];
  afterEach(async () => Promise.all(folders.splice(0).map((f) => f.remove())));

  it('removes stage and part files of dead workers only, leaving live, young and foreign files', async () => {
    const folder = await tempFolder();
    folders.push(folder);
    await mkdir(join(folder.path, 'deep'));
    const dead = stagePath(join(folder.path, 'deep', 'a.bin'), 'dead-1');
    const deadPart = partPath(stagePath(join(folder.path, 'b.bin'), 'dead-1'));
    const live = stagePath(join(folder.path, 'c.bin'), 'live-1');
    const young = stagePath(join(folder.path, 'd.bin'), 'dead-2');
    const foreign = partPath(join(folder.path, 'e.bin'));
    for (const f of [dead, deadPart, live, young, foreign]) await writeFile(f, 'x');
    const old = new Date(Date.now() - 120_000);
    for (const f of [dead, deadPart, live, foreign]) await utimes(f, old, old);
    expect(stageOwner(deadPart.split('/').at(-1)!)).toBe('dead-1');
    const removed = await sweepStages({ roots: [folder.path], isAlive: async (id) => id === 'live-1', minAgeMs: 60_000 });
    expect(removed.sort()).toEqual([dead, deadPart].sort());
    expect((await readdir(folder.path)).sort()).toEqual([live, young, foreign].map((f) => f.split('/').at(-1)).concat('deep').sort());
  });
});
