// Everything a run leaves behind: the terminal table, results/*.json, results/*.svg and, for a
// whole (full or --quick) run, the README's "Latest figures" section.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { wallTimeChart } from './chart.mjs';
import { COLUMNS, textTable, workloadRows } from './figures-table.mjs';
import { rewriteLatestFigures } from './readme-section.mjs';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

export function printReport(results, log) {
  for (const workload of results.workloads) {
    log(`\n${workload.label}  (reference: ${workload.contenders.find((c) => c.id === workload.reference)?.name ?? workload.reference})`);
    log(textTable(COLUMNS, workloadRows(workload)));
  }
  for (const s of results.skipped) log(`skipped ${s.what}: ${s.reason}`);
  log('\nTargets');
  const verdicts = results.targets.map((t) => [t.verdict === 'not met' ? 'NOT MET' : t.verdict, t.text, t.value]);
  log(textTable(['verdict', 'target', 'measured'], verdicts));
  if (results.mode === 'quick') log('(quick run: 1 repetition and smaller files; the verdicts are indicative only)');
}

/** Writes JSON and SVG (latest.* or partial.*); returns their paths. */
export async function writeReport(results) {
  const base = results.mode === 'partial' ? 'partial' : 'latest';
  const dir = join(PACKAGE_DIR, 'results');
  await mkdir(dir, { recursive: true });
  const paths = { json: join(dir, `${base}.json`), svg: join(dir, `${base}.svg`), readme: null };
  await writeFile(paths.json, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(paths.svg, await wallTimeChart(results));
  if (results.mode !== 'partial') {
    paths.readme = join(PACKAGE_DIR, 'README.md');
    await rewriteLatestFigures(paths.readme, results, { chartPath: `results/${base}.svg`, jsonPath: `results/${base}.json` });
  }
  return paths;
}

