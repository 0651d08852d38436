// A quick look at throughput, not a test and not the benchmark (that is @nectar/bench): nginx on
// loopback serves 2,000 × 16 KiB and one large file; curl and @nectar/undici (threads 0, 2, 4)
// fetch them. Run after a build: node scripts/measure.mjs [--large-mib 1024] [--only small|large]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync, existsSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { 'large-mib': { type: 'string', default: '1024' }, only: { type: 'string' }, threads: { type: 'string', default: '0,2,4' } } });
const largeMiB = Number(values['large-mib']);
const home = join(tmpdir(), 'nectar-measure');
const www = join(home, 'www');
const client = new URL('./measure-client.mjs', import.meta.url).pathname;

function corpus() {
  mkdirSync(join(www, 'small'), { recursive: true });
  const block = Buffer.alloc(16 * 1024, 7);
  for (let i = 0; i < 2000; i++) if (!existsSync(join(www, 'small', `f${i}`))) writeFileSync(join(www, 'small', `f${i}`), block);
  const large = join(www, 'large.bin');
  if (!existsSync(large)) {
    const fd = openSync(large, 'w');
    const mib = Buffer.alloc(1024 * 1024, 3);
    for (let i = 0; i < largeMiB; i++) writeSync(fd, mib);
    closeSync(fd);
  }
  if (!existsSync(join(home, 'cert.pem'))) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(home, 'key.pem'), '-out', join(home, 'cert.pem')], { stdio: 'ignore' });
  }
}

async function nginx() {
  mkdirSync(join(home, 'temp'), { recursive: true });
  const conf = `daemon off; master_process on; worker_processes 2; pid ${home}/nginx.pid; error_log ${home}/error.log warn;
events { worker_connections 1024; }
http { default_type application/octet-stream; access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;
  client_body_temp_path ${home}/temp/b; proxy_temp_path ${home}/temp/p; fastcgi_temp_path ${home}/temp/f; uwsgi_temp_path ${home}/temp/u; scgi_temp_path ${home}/temp/s;
  server { listen 127.0.0.1:18080; root ${www}; }
  server { listen 127.0.0.1:18443 ssl; ssl_certificate ${home}/cert.pem; ssl_certificate_key ${home}/key.pem; root ${www}; } }`;
  writeFileSync(join(home, 'nginx.conf'), conf);
  const child = spawn('nginx', ['-e', join(home, 'error.log'), '-c', join(home, 'nginx.conf'), '-p', home], { stdio: 'ignore' });
  await sleep(500);
  return child;
}

function run(label, workload, command, args) {
  const dest = join(workload.dir, 'out');
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  const started = performance.now();
  // GNU time prints the peak RSS (KiB) on stderr.
  const result = spawnSync('/usr/bin/time', ['-f', 'RSS %M', command, ...args(dest)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${label} failed on ${workload.name}: ${result.stderr}`);
  const rss = `, peak RSS ${(Number(/RSS (\d+)/.exec(result.stderr)?.[1]) / 1024).toFixed(0)} MiB`;
  const seconds = (performance.now() - started) / 1000;
  rmSync(dest, { recursive: true, force: true });
  const rate = workload.files > 1 ? `${(workload.files / seconds).toFixed(0)} files/s` : `${(workload.bytes / 2 ** 20 / seconds).toFixed(0)} MiB/s`;
  console.log(`${workload.name.padEnd(22)} ${label.padEnd(12)} ${seconds.toFixed(2).padStart(7)} s  ${rate}${rss}`);
}

corpus();
const server = await nginx();
try {
  const workloads = [];
  for (const [scheme, port] of [['http', 18080], ['https', 18443]]) {
    const base = `${scheme}://127.0.0.1:${port}`;
    if (values.only !== 'large') {
      for (const [where, dir] of [['tmpfs', '/dev/shm/nectar-measure'], ['tmp', join(home, 'dl')]]) {
        workloads.push({ name: `small-${scheme}-${where}`, dir, files: 2000, bytes: 2000 * 16384, urls: Array.from({ length: 2000 }, (_, i) => `${base}/small/f${i}`) });
      }
    }
    if (values.only !== 'small') {
      for (const [where, dir] of [['tmpfs', '/dev/shm/nectar-measure'], ['tmp', join(home, 'dl')]]) {
        workloads.push({ name: `large-${scheme}-${where}`, dir, files: 1, bytes: largeMiB * 2 ** 20, urls: [`${base}/large.bin`] });
      }
    }
  }
  for (const workload of workloads) {
    mkdirSync(workload.dir, { recursive: true });
    const list = join(home, `${workload.name}.urls`);
    writeFileSync(list, workload.urls.join('\n'));
    writeFileSync(`${list}.curl`, workload.urls.map((u) => `url = "${u}"`).join('\n'));
    run('curl', workload, 'curl', (dest) => ['-s', '--cacert', join(home, 'cert.pem'), '--parallel', '--parallel-max', '8', '--remote-name-all', '--output-dir', dest, '-K', `${list}.curl`]);
    for (const threads of values.threads.split(',')) {
      run(`threads ${threads}`, workload, process.execPath, (dest) => [client, list, dest, threads, join(home, 'cert.pem')]);
    }
  }
} finally {
  server.kill('SIGQUIT');
  rmSync('/dev/shm/nectar-measure', { recursive: true, force: true });
}
