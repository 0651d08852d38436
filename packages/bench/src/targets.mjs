// Issue #14's targets, and issue #16's long-list memory, each checked against this run's figures.
// A ratio is always paired (same rounds, same server): see stats.mjs.
import { pairedRatio } from './stats.mjs';

const LIBRARY = 'undici';
const CLI = 'nectar-get';

/**
 * `atLeast` is a speed multiple (the baseline's time ÷ the subject's); `form` says how the issue
 * phrases the target, so the measured value reads the same way: 'time' (≤ N× its time) or 'speed'.
 */
const ratioTarget = ({ id, text, workload, subject, against, atLeast, form, floor }) => ({
  id,
  text,
  check: (results) => checkRatio(results, { workload, subject, against, atLeast, form, floor }),
});

/** In the order the issue lists them. The library is `new UndiciDownloader()` as it comes. */
export const targets = [
  // With the undici.dispatch floor's own multiple beside it: how low the bound sits.
  ratioTarget({ id: 'small-vs-loop', text: "2,000 × 16 KiB → tmpfs, HTTP: library ≤ 0.5× the bare undici loop's time", workload: 'small-http-tmpfs', subject: LIBRARY, against: 'undici-loop', atLeast: 2, form: 'time', floor: 'undici-dispatch' }),
  ratioTarget({ id: 'small-vs-aria2c', text: "2,000 × 16 KiB → tmpfs, HTTP: library ≥ 0.5× aria2c's throughput", workload: 'small-http-tmpfs', subject: LIBRARY, against: 'aria2c', atLeast: 0.5, form: 'speed' }),
  ratioTarget({ id: 'small-cli-vs-aria2c', text: "2,000 × 16 KiB → tmpfs, HTTP: `nectar get -i` ≤ 2.5× aria2c's time", workload: 'small-http-tmpfs', subject: CLI, against: 'aria2c', atLeast: 0.4, form: 'time' }),
  { id: 'small-https', text: '2,000 × 16 KiB → tmpfs, HTTPS: library and `nectar get -i` against curl and aria2c (no bound)', check: checkHttpsReport },
  { id: 'small-h2', text: '2,000 × 16 KiB → tmpfs, HTTPS, one listener (#18): h2 time ÷ HTTP/1.1 time (no bound; below 1, h2 is faster)', check: checkH2Report },
  ratioTarget({ id: 'medium-vs-curl', text: "200 × 1 MiB → disk, HTTP: library ≤ 2.5× curl's time", workload: 'medium-http-tmp', subject: LIBRARY, against: 'curl', atLeast: 0.4, form: 'time' }),
  ratioTarget({ id: 'large-http', text: "1 GiB → disk, HTTP: library ≥ 0.8× curl's throughput", workload: 'large-http-tmp', subject: LIBRARY, against: 'curl', atLeast: 0.8, form: 'speed' }),
  ratioTarget({ id: 'large-https', text: "1 GiB → disk, HTTPS: library ≥ 0.6× curl's throughput", workload: 'large-https-tmp', subject: LIBRARY, against: 'curl', atLeast: 0.6, form: 'speed' }),
  ratioTarget({ id: 'one-file', text: "`nectar get` of one 16 KiB file ≤ 2.5× `node -e 0`'s time", workload: 'one-http-tmpfs', subject: CLI, against: 'node-startup', atLeast: 0.4, form: 'time' }),
  { id: 'small-rss', text: 'peak RSS of the 2,000-file run (library, HTTP → tmpfs) < 100 MiB', check: checkSmallRunMemory },
  { id: 'stream-rss', text: 'peak RSS over a stream() of 100,000 requests (library) < 120 MiB', check: checkStreamMemory },
  ratioTarget({ id: 'file-large', text: "file:// 1 GiB → disk ≥ 0.8× cp's throughput", workload: 'large-file-tmp', subject: 'nectar-file', against: 'cp', atLeast: 0.8, form: 'speed' }),
  { id: 'max-speed', text: 'maxSpeed within ±5% at 1 and 10 MiB/s', check: checkMaxSpeed },
  { id: 'cancel', text: 'cancel() settles in < 100 ms (median)', check: checkCancel },
  { id: 'cli-list', text: '`nectar get -i` of a 1,000,000-line list (#16): memory flat, i.e. peak < a one-line list\'s + 50 MiB and growth < 5 MiB per 100,000 URLs', check: checkListMemory },
];

/** Every target with its verdict: `{ id, text, verdict: 'met' | 'not met' | 'reported' | 'not measured', value }`. */
export function evaluateTargets(results) {
  return targets.map(({ id, text, check }) => ({ id, text, ...check(results) }));
}

const notMeasured = (why) => ({ verdict: 'not measured', value: why });
const judged = (met, value) => ({ verdict: met ? 'met' : 'not met', value });

function checkRatio(results, { workload, subject, against, atLeast, form, floor }) {
  const pair = pairIn(results, workload, subject, against);
  if (typeof pair === 'string') return notMeasured(pair);
  const value = form === 'time' ? timeMultiple(pair) : speedMultiple(pair);
  return judged(pair.ratio >= atLeast, `${value}${floorNote(results, workload, floor, against, form)}`);
}

/** "; undici.dispatch floor (no guarantees): 0.51×" — the same multiple for a floor that ran, else nothing. */
function floorNote(results, workload, floor, against, form) {
  if (floor === undefined) return '';
  const pair = pairIn(results, workload, floor, against);
  if (typeof pair === 'string') return '';
  return `; ${pair.subject.name} (no guarantees): ${multiple(pair, form)}×`;
}

/** `{ ratio, baseline }` of `subjectId` against `baselineId` in one workload, or why there is none. */
function pairIn(results, workloadId, subjectId, baselineId) {
  const workload = results.workloads.find((w) => w.id === workloadId);
  if (workload === undefined) return `workload ${workloadId} did not run`;
  const [subject, baseline] = [subjectId, baselineId].map((id) => workload.contenders.find((c) => c.id === id));
  for (const [id, contender] of [[subjectId, subject], [baselineId, baseline]]) {
    if (contender === undefined) return `${id} did not run in ${workloadId}`;
    if (contender.runs.every((r) => !r.ok)) return `${id} has no successful run in ${workloadId}: ${contender.error?.split('\n')[0]}`;
  }
  return { ratio: pairedRatio(subject.runs, baseline.runs), subject, baseline };
}

/** The paired ratio as the target phrases it: a multiple of the other's time, or of its speed. */
const multiple = ({ ratio }, form) => (form === 'time' ? 1 / ratio : ratio).toFixed(2);
const timeMultiple = (pair) => `${multiple(pair, 'time')}× ${pair.baseline.name}'s time`;
const speedMultiple = (pair) => `${multiple(pair, 'speed')}× ${pair.baseline.name}'s throughput`;

/** "library 0.07× curl, 0.14× aria2c's throughput; nectar get …": each subject against both tools. */
function checkHttpsReport(results) {
  const parts = [];
  for (const [subject, label] of [[LIBRARY, 'library'], [CLI, 'nectar get -i']]) {
    const pairs = ['curl', 'aria2c'].map((against) => pairIn(results, 'small-https-tmpfs', subject, against)).filter((p) => typeof p !== 'string');
    if (pairs.length > 0) parts.push(`${label} ${pairs.map((p) => `${p.ratio.toFixed(2)}× ${p.baseline.name}`).join(', ')}`);
  }
  if (parts.length === 0) return notMeasured(pairIn(results, 'small-https-tmpfs', LIBRARY, 'curl'));
  return { verdict: 'reported', value: `throughput: ${parts.join('; ')}` };
}

const H2_WORKLOAD = 'small-https-h2-tmpfs';
// [label, how the two differ, the contender asking for h2, the same tool pinned to HTTP/1.1]
const H2_PAIRS = [
  ['library', 'http2: true ÷ false', 'undici-h2', 'undici-h1'],
  ['curl', '--http2 ÷ --http1.1', 'curl-h2', 'curl'],
];

/**
 * Issue #18: h2 time ÷ HTTP/1.1 time in the h2 workload, paired by round (the median of each
 * round's h2 wall ÷ HTTP/1.1 wall): `{ ratios: [{ label, flags, h2Id, ratio, h2Seconds, h1Seconds }], missing }`,
 * `missing` saying why a pair has no ratio. The chart shows the same figures.
 */
export function h2Ratios(results) {
  const ratios = [];
  const missing = [];
  for (const [label, flags, h2Id, h1Id] of H2_PAIRS) {
    // pairIn's ratio is the baseline's time ÷ the subject's: with HTTP/1.1 as subject, h2 ÷ HTTP/1.1.
    const pair = pairIn(results, H2_WORKLOAD, h1Id, h2Id);
    if (typeof pair === 'string') missing.push(pair);
    else ratios.push({ label, flags, h2Id, ratio: pair.ratio, h2Seconds: pair.baseline.summary.wallSeconds, h1Seconds: pair.subject.summary.wallSeconds });
  }
  return { ratios, missing };
}

function checkH2Report(results) {
  const { ratios, missing } = h2Ratios(results);
  if (ratios.length === 0) return notMeasured(missing[0]);
  const seconds = (s) => `${s.toFixed(s < 1 ? 3 : 2)} s`;
  const parts = ratios.map((r) => `${r.label} (${r.flags}) ${r.ratio.toFixed(2)}× (median ${seconds(r.h2Seconds)} against ${seconds(r.h1Seconds)})`);
  return { verdict: 'reported', value: parts.join('; ') };
}

function checkSmallRunMemory(results) {
  const rss = (id) => results.workloads.find((w) => w.id === 'small-http-tmpfs')?.contenders.find((c) => c.id === id)?.summary.peakRssMiB ?? null;
  const library = rss(LIBRARY);
  if (library === null) return notMeasured('no run of the library on small-http-tmpfs with GNU time');
  const cli = rss(CLI) === null ? '' : ` (nectar get -i: ${rss(CLI).toFixed(0)} MiB)`;
  return judged(library < 100, `${library.toFixed(0)} MiB${cli}`);
}

function checkStreamMemory(results) {
  const runs = (results.probes['stream-memory'] ?? []).filter((p) => p.ok && p.peakRssMiB !== null);
  const library = runs.find((p) => p.contender === LIBRARY);
  if (library === undefined) return notMeasured('the stream-memory probe did not run the library, or failed');
  const others = runs.filter((p) => p !== library).map((p) => `; ${p.name}: ${p.peakRssMiB.toFixed(0)} MiB`);
  return judged(library.peakRssMiB < 120, `${library.peakRssMiB.toFixed(0)} MiB over ${library.count.toLocaleString('en')} requests${others.join('')}`);
}

function checkMaxSpeed(results) {
  const runs = results.probes['max-speed'] ?? [];
  if (runs.length === 0) return notMeasured('the max-speed probe did not run');
  if (runs.some((p) => !p.ok)) return judged(false, `failed: ${runs.find((p) => !p.ok).error?.split('\n')[0]}`);
  const worst = runs.reduce((a, b) => (Math.abs(b.deviation) > Math.abs(a.deviation) ? b : a));
  return judged(Math.abs(worst.deviation) <= 0.05, `worst ${signedPercent(worst.deviation)} (${worst.name} at ${worst.rate / 1048576} MiB/s; ${runs[0].seconds} s runs)`);
}

function checkCancel(results) {
  const runs = results.probes.cancel ?? [];
  if (runs.length === 0) return notMeasured('the cancel probe did not run');
  if (runs.some((p) => !p.ok || p.medianMs === null)) return judged(false, `failed: ${runs.find((p) => !p.ok)?.error?.split('\n')[0]}`);
  const worst = runs.reduce((a, b) => (b.medianMs > a.medianMs ? b : a));
  return judged(worst.medianMs < 100, `worst median ${worst.medianMs.toFixed(1)} ms (${worst.name})`);
}

function checkListMemory(results) {
  const [run] = results.probes['cli-list'] ?? [];
  if (run === undefined) return notMeasured('the cli-list probe did not run');
  if (!run.ok) return judged(false, `failed: ${run.error}`);
  if (run.peakRssMiB === null || run.growthMiBPer100k === null) return notMeasured(`too few RSS samples (${run.samples.length})`);
  if (run.oneLinePeakRssMiB === null) return notMeasured('no peak RSS of the one-line list (GNU time missing?)');
  const extent = run.finished ? 'all URLs' : `${run.settled.toLocaleString('en')} URLs in ${run.seconds.toFixed(0)} s, every one a 404`;
  const value = `peak ${run.peakRssMiB.toFixed(0)} MiB (one-line list: ${run.oneLinePeakRssMiB.toFixed(0)} MiB), ${signed(run.growthMiBPer100k)} MiB per 100,000 URLs (${extent})`;
  return judged(run.peakRssMiB < run.oneLinePeakRssMiB + 50 && run.growthMiBPer100k < 5, value);
}

const signedPercent = (fraction) => `${signed(fraction * 100)}%`;
const signed = (value) => `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
