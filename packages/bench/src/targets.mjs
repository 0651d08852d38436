// The targets, each checked against this run's figures: met, not met, or not measured.
import { pairedRatio } from './stats.mjs';

const ratioTarget = (id, text, workload, contender, minimum, against) => ({ id, text, check: (r) => checkRatio(r, workload, contender, minimum, against) });

/** In the order the issue lists them. Throughput targets take undici's default (threaded) mode. */
export const targets = [
  ratioTarget('small-tmp-http', 'small files → temp dir, HTTP: undici ≥ 1.0× curl files/s', 'small-http-tmp', 'undici-threaded', 1.0),
  ratioTarget('small-tmp-https', 'small files → temp dir, HTTPS: undici ≥ 1.0× curl files/s', 'small-https-tmp', 'undici-threaded', 1.0),
  ratioTarget('small-tmpfs-http', 'small files → tmpfs, HTTP: undici ≥ 0.4× curl', 'small-http-tmpfs', 'undici-threaded', 0.4),
  ratioTarget('small-tmpfs-https', 'small files → tmpfs, HTTPS: undici ≥ 0.4× curl', 'small-https-tmpfs', 'undici-threaded', 0.4),
  ratioTarget('large-http', 'large file, HTTP: undici ≥ 0.9× curl', 'large-http-tmp', 'undici-threaded', 0.9),
  ratioTarget('large-https', 'large file, HTTPS: undici ≥ 0.5× curl', 'large-https-tmp', 'undici-threaded', 0.5),
  ratioTarget('axios-large', 'large file, HTTP: axios ≥ 0.5× curl', 'large-http-tmp', 'axios', 0.5),
  ratioTarget('axios-floor', 'small files, HTTP: axios ≥ 1.5× its plain-loop floor', 'small-http-tmp', 'axios', 1.5, 'axios-plain-loop'),
  ratioTarget('file-large', 'file:// large file: ≥ 0.9× cp', 'large-file-tmp', 'nectar-file', 0.9),
  ratioTarget('file-small', 'file:// small files → tmpfs: ≥ 0.3× cp -r', 'small-file-tmpfs', 'nectar-file', 0.3),
  ratioTarget('sftp-large', 'SFTP large file: ≥ 0.6× OpenSSH sftp', 'large-sftp-tmp', 'nectar-sftp', 0.6),
  ratioTarget('sftp-small', 'SFTP small files: ≥ 0.6× OpenSSH sftp', 'small-sftp-tmp', 'nectar-sftp', 0.6),
  { id: 'stream-rss', text: 'peak RSS < 150 MiB over stream() of 100,000 requests (undici)', check: checkStreamMemory },
  { id: 'large-rss', text: 'peak RSS < 100 MiB for the large file (undici, HTTP and HTTPS)', check: checkLargeFileMemory },
  { id: 'max-speed', text: 'maxSpeed within ±5% at 1 and 10 MiB/s over 10 s', check: checkMaxSpeed },
  { id: 'cancel', text: 'cancel() settles in < 100 ms (median)', check: checkCancel },
];

/** Every target with its verdict: `{ id, text, met: true | false | null, value }`. */
export function evaluateTargets(results) {
  return targets.map(({ id, text, check }) => ({ id, text, ...check(results) }));
}

const notMeasured = (why) => ({ met: null, value: `not measured: ${why}` });

function checkRatio(results, workloadId, contenderId, minimum, againstId) {
  const workload = results.workloads.find((w) => w.id === workloadId);
  if (workload === undefined) return notMeasured(`workload ${workloadId} did not run`);
  const baselineId = againstId ?? workload.reference;
  const [subject, baseline] = [contenderId, baselineId].map((id) => workload.contenders.find((c) => c.id === id));
  if (subject === undefined || subject.runs.every((r) => !r.ok)) return notMeasured(`${contenderId} has no successful run`);
  if (baseline === undefined || baseline.runs.every((r) => !r.ok)) return notMeasured(`${baselineId} has no successful run`);
  const ratio = pairedRatio(subject.runs, baseline.runs);
  return { met: ratio >= minimum, value: `${ratio.toFixed(2)}× ${baseline.name}` };
}

function checkStreamMemory(results) {
  const runs = (results.probes['stream-memory'] ?? []).filter((p) => p.ok);
  if (runs.length === 0) return notMeasured('the stream-memory probe did not run or failed');
  const worst = Math.max(...runs.map((p) => p.peakRssMiB));
  const counts = [...new Set(runs.map((p) => p.count))].join(', ');
  return { met: worst < 150, value: `${worst.toFixed(0)} MiB (worst of ${runs.map((p) => p.name).join(', ')}; ${counts} requests)` };
}

function checkLargeFileMemory(results) {
  const rss = results.workloads
    .filter((w) => w.set === 'large' && (w.transport === 'http' || w.transport === 'https'))
    .flatMap((w) => w.contenders.filter((c) => c.id === 'undici-threaded' && c.summary.peakRssMiB !== null))
    .map((c) => c.summary.peakRssMiB);
  if (rss.length === 0) return notMeasured('no large-file run of undici');
  return { met: Math.max(...rss) < 100, value: `${Math.max(...rss).toFixed(0)} MiB` };
}

function checkMaxSpeed(results) {
  const runs = results.probes['max-speed'] ?? [];
  if (runs.length === 0) return notMeasured('the max-speed probe did not run');
  if (runs.some((p) => !p.ok)) return { met: false, value: `failed: ${runs.find((p) => !p.ok).error?.split('\n')[0]}` };
  const worst = runs.reduce((a, b) => (Math.abs(b.deviation) > Math.abs(a.deviation) ? b : a));
  const seconds = runs[0].seconds;
  return { met: Math.abs(worst.deviation) <= 0.05, value: `worst ${signedPercent(worst.deviation)} (${worst.name} at ${worst.rate / 1048576} MiB/s; ${seconds} s runs)` };
}

function checkCancel(results) {
  const runs = results.probes.cancel ?? [];
  if (runs.length === 0) return notMeasured('the cancel probe did not run');
  if (runs.some((p) => !p.ok || p.medianMs === null)) return { met: false, value: `failed: ${runs.find((p) => !p.ok)?.error?.split('\n')[0]}` };
  const worst = runs.reduce((a, b) => (b.medianMs > a.medianMs ? b : a));
  return { met: worst.medianMs < 100, value: `worst median ${worst.medianMs.toFixed(1)} ms (${worst.name})` };
}

const signedPercent = (fraction) => `${fraction >= 0 ? '+' : ''}${(fraction * 100).toFixed(1)}%`;
