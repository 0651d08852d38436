// SftpDownloader against OpenSSH's own sftp and scp, on the same files from the same local sshd.
// Run with `npm run bench` (after `npm run build`). Prints MiB/s and files/s, median of 3 runs.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DownloadRequest } from '@nectar/core';
import { SftpDownloader } from '@nectar/sftp';
import { sftpFixture, sshdSkipReason } from '@nectar/sftp/testing';

const MiB = 1024 * 1024;
const large = { name: 'large.bin', size: 256 * MiB };
const small = { count: 500, size: 16 * 1024 };
const runs = 3;

const skip = sshdSkipReason();
if (skip !== null) {
  console.log(`bench skipped: ${skip}`);
  process.exit(0);
}

const fixture = sftpFixture();
await fixture.start();
try {
  await publishFiles();
  const rows = [];
  for (const tool of tools()) {
    const largeSeconds = await median(() => timed((dest) => tool.large(dest)));
    const smallSeconds = await median(() => timed((dest) => tool.small(dest)));
    rows.push({
      tool: tool.name,
      'large MiB/s': (large.size / MiB / largeSeconds).toFixed(1),
      'small MiB/s': ((small.count * small.size) / MiB / smallSeconds).toFixed(1),
      'small files/s': (small.count / smallSeconds).toFixed(0),
    });
  }
  console.log(`one ${large.size / MiB} MiB file; ${small.count} × ${small.size / 1024} KiB files; median of ${runs} runs; sshd on 127.0.0.1`);
  console.table(rows);
} finally {
  await fixture.stop();
}

async function publishFiles() {
  await fixture.publish(large.name, randomBytes(large.size));
  for (let i = 0; i < small.count; i++) await fixture.publish(`small/${i}.bin`, randomBytes(small.size));
}

function tools() {
  const { port, clientKeyPath, knownHostsPath, username } = fixture;
  const ssh = ['-q', '-P', String(port), '-i', clientKeyPath, '-o', `UserKnownHostsFile=${knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes'];
  const remote = (path) => `${username}@127.0.0.1:${path}`;
  const largePath = join(fixture.root, large.name);
  const smallGlob = join(fixture.root, 'small', '*');
  const nectar = async (requests, config = {}) => {
    const downloader = new SftpDownloader({ ...fixture.config, retries: 0, ...config });
    try {
      const reports = await downloader.download(requests);
      const failed = reports.find((r) => r.state !== 'succeeded');
      if (failed) throw new Error(`${failed.url}: ${JSON.stringify(failed.errorReport)}`);
    } finally {
      await downloader.close();
    }
  };
  const smallRequests = (dest) => Array.from({ length: small.count }, (_, i) => new DownloadRequest(fixture.url(`small/${i}.bin`), join(dest, `${i}.bin`)));
  return [
    {
      name: 'SftpDownloader (maxConcurrent 8)',
      large: (dest) => nectar([new DownloadRequest(fixture.url(large.name), join(dest, large.name))]),
      small: (dest) => nectar(smallRequests(dest)),
    },
    {
      name: 'SftpDownloader (1 connection)',
      large: (dest) => nectar([new DownloadRequest(fixture.url(large.name), join(dest, large.name))], { sshConnectionsPerHost: 1 }),
      small: (dest) => nectar(smallRequests(dest), { sshConnectionsPerHost: 1 }),
    },
    {
      name: 'OpenSSH sftp -b',
      large: (dest) => run('sftp', [...ssh, '-b', '-', remote('')], `get ${largePath} ${dest}/\n`),
      small: (dest) => run('sftp', [...ssh, '-b', '-', remote('')], `get ${smallGlob} ${dest}/\n`),
    },
    {
      name: 'OpenSSH scp',
      large: (dest) => run('scp', [...ssh, remote(largePath), `${dest}/`]),
      small: (dest) => run('scp', [...ssh, remote(smallGlob), `${dest}/`]),
    },
  ];
}

/** Seconds one transfer takes into a fresh temp folder, removed afterwards. */
async function timed(transfer) {
  const dest = await mkdtemp(join(tmpdir(), 'nectar-sftp-bench-'));
  try {
    const started = performance.now();
    await transfer(dest);
    return (performance.now() - started) / 1000;
  } finally {
    await rm(dest, { recursive: true, force: true });
  }
}

async function median(measure) {
  const values = [];
  for (let i = 0; i < runs; i++) values.push(await measure());
  return values.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

function run(program, args, input = '') {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${program} exited ${code}: ${stderr}`))));
    child.stdin.end(input);
  });
}
