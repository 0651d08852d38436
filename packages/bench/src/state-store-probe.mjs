// Issue #17's figures: the state store's memory at 1,000,000 records (flat: RSS at 100,000 and at
// 1,000,000 records side by side) and a second run of a list against the first (all 304s).
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure } from './measure.mjs';

const script = fileURLToPath(new URL('./probes/state-store.mjs', import.meta.url));

export async function stateStoreProbe(env) {
  const dir = await mkdtemp(join(env.scratchDir, 'nectar-bench-state-'));
  try {
    const records = env.quick ? '200000' : '1000000';
    const run = await measure({ program: process.execPath, args: [script, '--records', records, '--files', '2000', '--dir', dir] }, env.scratchDir);
    const result = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
    const { memory, resync } = result;
    const [early, last] = [memory.rss[0], memory.rss.at(-1)];
    env.log(
      `  state-store ${memory.records} records: RSS ${early.rssMiB.toFixed(0)} MiB at ${early.records}, ${last.rssMiB.toFixed(0)} MiB at ${last.records}; ` +
        `second run of ${resync.files} files ${resync.second.seconds.toFixed(2)} s vs first ${resync.first.seconds.toFixed(2)} s`,
    );
    return [{ ...result, peakRssKiB: run.peakRssKiB ?? null }];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
