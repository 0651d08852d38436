// One segmented download in a process of its own, so that the test can kill it with SIGKILL:
// `node segmented.mjs <url> <destination> <state> <segments> <threads>`. Prints "<state> <outcome>" when it settles.
import { DownloadRequest } from '@nectar/core';
import { UndiciDownloader } from '@nectar/undici';

const [url, destination, state, segments, threads] = process.argv.slice(2);
const downloader = new UndiciDownloader({ state, segments: Number(segments), minSegmentSize: 1024 * 1024, retries: 0, threads: Number(threads) });
const [report] = await downloader.download([new DownloadRequest(url, destination)]);
process.stdout.write(`${report.state} ${report.outcome} ${report.errorReport.message ?? ''}\n`);
await downloader.close();
