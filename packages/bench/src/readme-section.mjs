// Rewrites the "Latest figures" section of packages/bench/README.md, between its two markers,
// with this run's table, target verdicts and chart link. The rest of the README is left alone.
import { readFile, writeFile } from 'node:fs/promises';
import { COLUMNS, firstLine, markdownTable, workloadRows } from './figures-table.mjs';

const START = '<!-- latest-figures:start -->';
const END = '<!-- latest-figures:end -->';

export async function rewriteLatestFigures(readmePath, results, { chartPath, jsonPath }) {
  const readme = await readFile(readmePath, 'utf8');
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start === -1 || end < start) throw new Error(`${readmePath} lacks the ${START} … ${END} markers`);
  const section = latestFigures(results, { chartPath, jsonPath });
  await writeFile(readmePath, `${readme.slice(0, start + START.length)}\n${section}\n${readme.slice(end)}`);
}

function latestFigures(results, { chartPath, jsonPath }) {
  const { machine } = results;
  const lines = [
    `_${results.mode === 'quick' ? 'Quick run (`--quick`: 1 repetition, 256 MiB large file, fewer workloads, shorter probes): indicative only' : 'Full run'}; ` +
      `${results.generatedAt}; ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB RAM, Node ${machine.node}; ` +
      `temp dir ${machine.tmpdir.path} (${machine.tmpdir.fs}), tmpfs ${machine.tmpfs.path} (${machine.tmpfs.fs}); concurrency ${results.concurrency}._`,
    '',
    '### Targets',
    '',
    markdownTable(['target', 'measured', 'verdict'], results.targets.map((t) => [t.text, t.value, VERDICTS[t.verdict]])),
    '',
    '### Throughput',
    '',
    `![Wall time by contender](${chartPath})`,
    '',
    markdownTable(['workload', ...COLUMNS], results.workloads.flatMap((w) => workloadRows(w).map((row) => [w.label, ...row]))),
    '',
    ...probeLines(results.probes),
    ...skippedLines(results.skipped),
    `Raw figures: [${jsonPath}](${jsonPath}).`,
  ];
  return lines.join('\n');
}

function probeLines(probes) {
  const rows = [
    ...(probes['stream-memory'] ?? []).map((p) => [`stream() of ${p.count.toLocaleString('en')} requests`, p.name, p.ok ? `peak RSS ${p.peakRssMiB.toFixed(0)} MiB, ${p.filesPerSecond.toFixed(0)} files/s` : `failed: ${firstLine(p.error)}`]),
    ...(probes['cli-list'] ?? []).map((p) => [`nectar get -i of a ${p.lines.toLocaleString('en')}-line list (404s)`, 'nectar get', p.ok ? listResult(p) : `failed: ${firstLine(p.error)}`]),
    ...(probes['max-speed'] ?? []).map((p) => [`maxSpeed ${p.rate / 1048576} MiB/s, ${p.seconds} s`, p.name, p.ok ? `${(p.achieved / 1048576).toFixed(3)} MiB/s (${signedPercent(p.deviation)})` : `failed: ${firstLine(p.error)}`]),
    ...(probes.cancel ?? []).map((p) => [`cancel() after 1 s, median of ${p.times}`, p.name, p.medianMs === null ? `failed: ${firstLine(p.error)}` : `${p.medianMs.toFixed(1)} ms`]),
  ];
  if (rows.length === 0) return [];
  return ['### Memory, speed limit, cancel', '', markdownTable(['measure', 'contender', 'result'], rows), ''];
}

function listResult(p) {
  const extent = p.finished ? `all in ${p.seconds.toFixed(0)} s` : `${p.settled.toLocaleString('en')} settled in ${p.seconds.toFixed(0)} s, then stopped`;
  const growth = p.growthMiBPer100k === null ? '' : `, ${signed(p.growthMiBPer100k)} MiB per 100,000 URLs`;
  return `peak RSS ${p.peakRssMiB?.toFixed(0)} MiB${growth} (${extent})`;
}

function skippedLines(skipped) {
  if (skipped.length === 0) return [];
  return ['### Skipped', '', ...skipped.map((s) => `- ${s.what}: ${s.reason}`), ''];
}

const VERDICTS = { met: '✅ met', 'not met': '❌ not met', reported: 'ℹ️ reported', 'not measured': '– not measured' };
const signed = (value) => `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
const signedPercent = (fraction) => `${fraction >= 0 ? '+' : ''}${(fraction * 100).toFixed(1)}%`;
