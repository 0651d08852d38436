// npm run bench:netns — workers in their own network namespaces, each behind a bandwidth cap.
//
// Needs root and iproute2 (`ip`, `tc`) and redis-server; without them it says why and exits 0.
// Never part of CI or of `npm run bench`.
//
// Layout (all private addresses, created here and deleted on exit, SIGINT, SIGTERM or failure):
//
//   host: nectar-o<pid> (one end of a host-only veth pair) holds 10.231.0.1/32, the "origin"
//         address; the HTTP origin and Redis listen on it (Redis also on 127.0.0.1, for the
//         producer). nxh<N>-<pid> holds 10.231.N.1/30 and carries a tbf qdisc: the cap on
//         origin → worker N.
//   namespace nectar-w<N>-<pid>: nxn<N>-<pid> holds 10.231.N.2/30, and its only routes are that
//         /30 and 10.231.0.1/32 via 10.231.N.1. No default route, no NAT, no forwarding: a
//         worker reaches the host's own addresses and nothing else.
//
// For 1, 2 and 4 workers the same 64 × 4 MiB files are enqueued to fresh destinations; the time
// until every report settles gives aggregate and per-worker MiB/s. Each worker is alone on its
// capped link, so aggregate throughput grows with workers until the 2 shared cores bind. One
// machine shows correctness and per-worker cost, not a multi-machine speed-up: the namespaces only
// emulate separate links. BENCH_NETNS_RATE (default 80mbit), BENCH_NETNS_FILES (64) and
// BENCH_NETNS_WORKERS (1,2,4) change the defaults.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createServer as createNetServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const RATE = process.env.BENCH_NETNS_RATE ?? '80mbit';
const FILES = Number(process.env.BENCH_NETNS_FILES ?? 64);
const FILE_SIZE = 4 * 1024 * 1024;
const COUNTS = (process.env.BENCH_NETNS_WORKERS ?? '1,2,4').split(',').map(Number);
const MAX_WORKERS = Math.max(...COUNTS);
const ORIGIN = '10.231.0.1';
const PID = process.pid;
const nsName = (n) => `nectar-w${n}-${PID}`;
const hostVeth = (n) => `nxh${n}-${PID}`; // interface names are at most 15 characters
const nsVeth = (n) => `nxn${n}-${PID}`;
const originLink = `nectar-o${PID}`;
const originPeer = `nectar-p${PID}`;

function skip(why) {
  console.log(`bench:netns skipped: ${why}`);
  process.exit(0);
}

function run(cmd, args, { allowFail = false } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0 && !allowFail) throw new Error(`${cmd} ${args.join(' ')} failed: ${(r.stderr || r.error?.message || '').trim()}`);
  return r;
}

// ---- preconditions ------------------------------------------------------------------------
if (process.platform !== 'linux') skip('network namespaces need Linux');
if (process.getuid?.() !== 0) skip('needs root (ip netns, tc)');
for (const [tool, args] of [['ip', ['-V']], ['tc', ['-V']], ['redis-server', ['--version']]]) {
  const r = spawnSync(tool, args, { stdio: 'ignore' });
  if (r.error || r.status !== 0) skip(`${tool} is not available (apt-get install iproute2 redis-server)`);
}
if (!existsSync(cli)) skip(`${cli} is missing: build the package first (npm run build -w @nectar/queue)`);
const probe = `nectar-w0-${PID}`;
if (run('ip', ['netns', 'add', probe], { allowFail: true }).status !== 0) skip('`ip netns add` is not permitted here');
run('ip', ['netns', 'del', probe], { allowFail: true });

// ---- cleanup: ours always, leftovers of a crashed run at start ---------------------------
const children = new Set();
let redisChild;
let tmp;
let cleaned = false;

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** Deletes the namespaces and links of one run (ours, or a dead run's). Synchronous: usable in 'exit'. */
function removeNetwork(namespaces, links) {
  for (const ns of namespaces) run('ip', ['netns', 'del', ns], { allowFail: true }); // takes its veth pair along
  for (const link of links) run('ip', ['link', 'del', link], { allowFail: true });
}

function listNamespaces() {
  return run('ip', ['netns', 'list'], { allowFail: true }).stdout.split('\n').map((l) => l.split(' ')[0]).filter(Boolean);
}

function listLinks() {
  return run('ip', ['-o', 'link', 'show'], { allowFail: true }).stdout.split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1]).filter(Boolean);
}

function sweepLeftovers() {
  const pidOf = (name) => Number(/^(?:nectar-w\d+-|nx[hn]\d+-|nectar-[op])(\d+)$/.exec(name)?.[1] ?? NaN);
  const stale = (name) => { const p = pidOf(name); return Number.isInteger(p) && p !== PID && !alive(p); };
  const namespaces = listNamespaces().filter(stale);
  const links = listLinks().filter(stale);
  if (namespaces.length + links.length > 0) console.log(`removing leftovers of a previous run: ${[...namespaces, ...links].join(' ')}`);
  for (const ns of namespaces) { // workers a SIGKILLed run left behind live on inside its namespaces
    for (const pid of run('ip', ['netns', 'pids', ns], { allowFail: true }).stdout.split(/\s+/).filter(Boolean)) {
      try { process.kill(Number(pid), 'SIGKILL'); } catch {}
    }
  }
  removeNetwork(namespaces, links);
  // …and its redis-server, recognised by its working directory (--dir <our temp dir>/redis)
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (!/\/nectar-netns-bench-[^/]+\/redis$/.test(cwd) || !readFileSync(`/proc/${entry}/comm`, 'utf8').startsWith('redis-server')) continue;
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1]);
      const parent = ppid > 1 ? readFileSync(`/proc/${ppid}/cmdline`, 'utf8') : '';
      if (parent.includes('netns.bench')) continue; // a live run's
      console.log(`removing leftover redis-server ${entry} and ${dirname(cwd)}`);
      process.kill(Number(entry), 'SIGKILL');
      rmSync(dirname(cwd), { recursive: true, force: true });
    } catch {}
  }
}

function cleanup() {
  if (cleaned) return;
  cleaned = true;
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (redisChild && redisChild.exitCode === null) redisChild.kill('SIGKILL');
  const namespaces = Array.from({ length: MAX_WORKERS }, (_, i) => nsName(i + 1));
  const links = [...Array.from({ length: MAX_WORKERS }, (_, i) => hostVeth(i + 1)), originLink];
  removeNetwork(namespaces, links.filter((l) => listLinks().includes(l)));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}

process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`\n${signal}: cleaning up`);
    cleanup();
    process.exit(130);
  });
}

// ---- network ------------------------------------------------------------------------------
function setUpNetwork() {
  const taken = run('ip', ['-o', 'addr', 'show'], { allowFail: true }).stdout;
  if (/\binet 10\.231\./.test(taken)) throw new Error('10.231.0.0/16 is already in use on this host (another run?)');
  run('ip', ['link', 'add', originLink, 'type', 'veth', 'peer', 'name', originPeer]); // a host-only "dummy"
  run('ip', ['link', 'set', originLink, 'up']);
  run('ip', ['link', 'set', originPeer, 'up']);
  run('ip', ['addr', 'add', `${ORIGIN}/32`, 'dev', originLink]);
  for (let n = 1; n <= MAX_WORKERS; n++) {
    const ns = nsName(n);
    run('ip', ['netns', 'add', ns]);
    run('ip', ['link', 'add', hostVeth(n), 'type', 'veth', 'peer', 'name', nsVeth(n)]);
    run('ip', ['link', 'set', nsVeth(n), 'netns', ns]);
    run('ip', ['addr', 'add', `10.231.${n}.1/30`, 'dev', hostVeth(n)]);
    run('ip', ['link', 'set', hostVeth(n), 'up']);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    run('ip', ['-n', ns, 'addr', 'add', `10.231.${n}.2/30`, 'dev', nsVeth(n)]);
    run('ip', ['-n', ns, 'link', 'set', nsVeth(n), 'up']);
    run('ip', ['-n', ns, 'route', 'add', `${ORIGIN}/32`, 'via', `10.231.${n}.1`]);
    // host → namespace egress: shapes origin → worker, the direction the files travel
    run('tc', ['qdisc', 'add', 'dev', hostVeth(n), 'root', 'tbf', 'rate', RATE, 'burst', '256kb', 'latency', '50ms']);
    const routes = run('ip', ['-n', ns, 'route', 'show']).stdout;
    if (/^default/m.test(routes)) throw new Error(`${ns} has a default route`);
  }
}

// ---- origin and redis ---------------------------------------------------------------------
const base = randomBytes(FILE_SIZE);
const files = Array.from({ length: FILES }, (_, i) => {
  const body = Buffer.from(base);
  body.writeUInt32BE(i, 0);
  return { body, sha256: createHash('sha256').update(body).digest('hex') };
});

async function startOrigin() {
  const server = createServer((req, res) => {
    const m = /^\/files\/(\d+)$/.exec(req.url ?? '');
    const file = m ? files[Number(m[1])] : undefined;
    if (req.url === '/ping') return void res.end('pong');
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': file.body.length, 'content-type': 'application/octet-stream' });
    res.end(file.body);
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, ORIGIN, resolve));
  return { server, port: server.address().port };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function ping(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const socket = new Socket();
    let reply = '';
    socket.setTimeout(1000, () => socket.destroy());
    socket.on('data', (c) => { reply += c; if (reply.includes('\r\n')) socket.end(); });
    socket.on('close', () => resolve(reply.includes('PONG')));
    socket.on('error', () => resolve(false));
    socket.connect(port, host, () => socket.write('PING\r\n'));
  });
}

async function startRedis() {
  const port = await freePort();
  const dir = join(tmp, 'redis');
  await mkdir(dir);
  redisChild = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', ORIGIN, '--protected-mode', 'no', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 200; i++) {
    if (redisChild.exitCode !== null) throw new Error(`redis-server exited with ${redisChild.exitCode}`);
    if (await ping(port)) return port;
    await sleep(25);
  }
  throw new Error('redis-server did not answer PING');
}

/** From inside a namespace: the origin answers, Redis answers, and nothing else is reachable. */
async function checkConnectivity(n, originPort, redisPort) {
  const script = `
    const net = require('node:net');
    const tcp = (host, port) => new Promise((ok) => { const s = net.connect({ host, port, timeout: 1500 });
      s.on('connect', () => { s.write('PING\\r\\n'); s.once('data', (d) => { s.destroy(); ok(String(d).trim()); }); });
      s.on('timeout', () => { s.destroy(); ok('timeout'); }); s.on('error', (e) => ok(e.code)); });
    (async () => {
      const origin = await fetch('http://${ORIGIN}:${originPort}/ping').then((r) => r.text(), (e) => String(e.cause?.code ?? e));
      const redis = await tcp('${ORIGIN}', ${redisPort});
      const outside = await tcp('1.1.1.1', 80);
      console.log(JSON.stringify({ origin, redis, outside }));
    })();`;
  // asynchronous: the origin is served by this very process
  const child = spawn('ip', ['netns', 'exec', nsName(n), process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  await new Promise((resolve) => child.once('exit', resolve));
  children.delete(child);
  const got = JSON.parse(out.trim() || '{}');
  if (got.origin !== 'pong' || got.redis !== '+PONG' || got.outside !== 'ENETUNREACH') throw new Error(`${nsName(n)} connectivity: ${JSON.stringify(got)}`);
  return got;
}

// ---- workers and one measured run ---------------------------------------------------------
async function startWorker(n, redisPort, cluster) {
  const args = ['netns', 'exec', nsName(n), process.execPath, cli, '--redis', `redis://${ORIGIN}:${redisPort}`, '--cluster', cluster,
    '--id', `ns${n}`, '--max-concurrent', '4', '--storage', 'local', '--root', join(tmp, `w${n}`), '--no-fsync',
    '--discovery-interval', '100', '--progress-interval', '1000'];
  const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }); // ip execs node after setns: the pid is the worker's
  children.add(child);
  let err = '';
  child.stderr.on('data', (c) => (err += c));
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => { out += c; if (out.includes('\n')) resolve(); });
    child.once('exit', (code) => reject(new Error(`worker ns${n} exited with ${code}: ${err}`)));
  });
  return child;
}

async function stopWorkers(list) {
  await Promise.all(list.map(async (c) => {
    if (c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
    }
    children.delete(c);
  }));
}

async function measure(workers, originPort, redisPort) {
  const { DownloadRequest } = await import('@nectar/core');
  const { QueueDownloader } = await import('../dist/index.js');
  const cluster = `netns-${PID}-${workers}`;
  const list = [];
  // local storage re-roots /bench/… under each worker's --root; the folders must exist
  for (let n = 1; n <= workers; n++) await mkdir(join(tmp, `w${n}`, 'bench', `run-${workers}w`), { recursive: true });
  for (let n = 1; n <= workers; n++) list.push(await startWorker(n, redisPort, cluster));
  const d = new QueueDownloader({}, undefined, { redis: `redis://127.0.0.1:${redisPort}`, cluster, pollInterval: 250 });
  const requests = files.map((f, i) => new DownloadRequest(`http://${ORIGIN}:${originPort}/files/${i}`, `/bench/run-${workers}w/f${i}.bin`,
    { expectedSize: FILE_SIZE, expectedDigest: { algorithm: 'sha256', value: f.sha256 } }));
  const started = performance.now();
  const reports = await d.download(requests);
  const seconds = (performance.now() - started) / 1000;
  await d.close();
  await stopWorkers(list);
  const perWorker = {};
  let ok = 0;
  for (const [i, r] of reports.entries()) {
    if (r.state !== 'succeeded') throw new Error(`${r.url}: ${r.state} ${r.errorReport?.code} ${r.errorReport?.message}`);
    const stored = createHash('sha256').update(await readFile(r.storedAt.path)).digest('hex'); // re-checked on the host
    if (stored !== files[i].sha256) throw new Error(`${r.storedAt.path}: wrong content`);
    perWorker[r.storedAt.worker] = (perWorker[r.storedAt.worker] ?? 0) + 1;
    ok++;
  }
  const mib = (ok * FILE_SIZE) / 2 ** 20;
  return { workers, files: ok, seconds: +seconds.toFixed(1), aggregate: +(mib / seconds).toFixed(1), perWorker: +(mib / seconds / workers).toFixed(1), split: perWorker };
}

// ---- main ---------------------------------------------------------------------------------
try {
  sweepLeftovers();
  tmp = await mkdtemp(join(tmpdir(), 'nectar-netns-bench-'));
  setUpNetwork();
  const { server, port: originPort } = await startOrigin();
  const redisPort = await startRedis();
  for (let n = 1; n <= MAX_WORKERS; n++) await checkConnectivity(n, originPort, redisPort);
  console.log(`${MAX_WORKERS} namespaces up: origin and Redis reachable at ${ORIGIN}, nothing else routed; cap ${RATE} per worker link`);
  const rows = [];
  for (const w of COUNTS) {
    rows.push(await measure(w, originPort, redisPort));
    console.log(JSON.stringify(rows.at(-1)));
  }
  server.close();
  const first = rows[0].aggregate;
  console.log(`\n${FILES} × 4 MiB per run, cap ${RATE} per worker (≈ ${(parseFloat(RATE) * 1e6 / 8 / 2 ** 20).toFixed(1)} MiB/s if mbit)`);
  console.log('| workers | seconds | aggregate MiB/s | per worker MiB/s | × 1 worker | files per worker |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.workers} | ${r.seconds} | ${r.aggregate} | ${r.perWorker} | ${(r.aggregate / first).toFixed(2)} | ${Object.values(r.split).join(' / ')} |`);
  }
} finally {
  if (redisChild && redisChild.exitCode === null && redisChild.signalCode === null) { // reap it, not leave a zombie
    const exited = new Promise((r) => redisChild.once('exit', r));
    redisChild.kill('SIGKILL');
    await exited;
  }
  cleanup();
}
process.exit(0);
