// A producer in a process of its own, as `nectar get` through a queue would run: reads a JSON
// plan from argv, enqueues, cancels when told, then either exits at once (Ctrl-C) or closes and
// lets the process end by itself. Prints one JSON line per event on stdout.
import { DownloadRequest } from '@nectar/core';
import { QueueDownloader } from '../../dist/index.js';

const plan = JSON.parse(process.argv[2]);
const say = (event) => process.stdout.write(`${JSON.stringify({ at: Date.now(), ...event })}\n`);
const downloader = new QueueDownloader({}, {}, { redis: plan.redis, cluster: plan.cluster, pollInterval: 250, ...(plan.options ?? {}) });
let settled = 0;
let canceledAt = 0;
const cancel = async () => {
  canceledAt = Date.now();
  downloader.cancel();
  say({ event: 'canceled' });
  if (plan.exitAfterCancelMs !== undefined) {
    setTimeout(() => process.exit(130), plan.exitAfterCancelMs);
    return;
  }
  await downloader.close();
  say({ event: 'closed', ms: Date.now() - canceledAt });
};
if (plan.cancelAfterMs !== undefined) setTimeout(() => void cancel(), plan.cancelAfterMs);
const requests = plan.urls.map((url, i) => new DownloadRequest(url, plan.destinations[i]));
for await (const report of downloader.stream(requests)) {
  settled++;
  say({ event: 'settled', state: report.state, run: report.run, code: report.errorReport.code, drained: report.errorReport.drained });
  if (plan.cancelAfterSettled !== undefined && settled === plan.cancelAfterSettled) void cancel();
}
say({ event: 'done', settled });
if (canceledAt === 0) await downloader.close();
