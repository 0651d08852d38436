// nginx as a child process, with a throwaway config in a temp folder: the one server every HTTP
// contender downloads from, so that the server is never the difference between them.
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * nginx serves `root` over HTTP and HTTPS; the TLS listener offers h2 and http/1.1 by ALPN, so a
 * client gets h2 only when it asks for it (curl does by default: the harness pins it, see
 * contenders/curl.mjs). `listen … ssl http2` is nginx 1.22's spelling (Debian 12); 1.25.1+ still
 * takes it, with a deprecation warning in the error log. `/paced/` serves it at `pacedRate` bytes/s per
 * connection, and `/gone/` answers 404 at once (a long list that touches no disk).
 */
export async function startNginx({ program, prefix, root, tls, pacedRate }) {
  await mkdir(join(prefix, 'temp'), { recursive: true });
  const ports = { http: await freePort(), https: await freePort() };
  const confPath = join(prefix, 'nginx.conf');
  const errorLog = join(prefix, 'error.log');
  await writeFile(confPath, nginxConfig({ prefix, root, tls, ports, errorLog, pacedRate }));
  // -e: nginx opens its compiled-in error log before reading the config unless told otherwise.
  const child = spawn(program, ['-e', errorLog, '-c', confPath, '-p', prefix], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  try {
    await Promise.race([waitForPorts(Object.values(ports)), exited.then(() => Promise.reject(new Error('nginx exited')))]);
  } catch (error) {
    child.kill('SIGTERM');
    const log = await readFile(errorLog, 'utf8').catch(() => '');
    throw new Error(`nginx did not start: ${error.message}\n${log}`);
  }
  return {
    ports,
    baseUrl: (transport) => `${transport}://127.0.0.1:${ports[transport]}`,
    stop: () => stopChild(child, exited),
  };
}

function nginxConfig({ prefix, root, tls, ports, errorLog, pacedRate }) {
  const temp = join(prefix, 'temp');
  return `daemon off;
master_process on;
worker_processes 2;
pid ${join(prefix, 'nginx.pid')};
error_log ${errorLog} warn;
events { worker_connections 1024; }
http {
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  keepalive_timeout 60s;
  client_body_temp_path ${temp}/body;
  proxy_temp_path ${temp}/proxy;
  fastcgi_temp_path ${temp}/fastcgi;
  uwsgi_temp_path ${temp}/uwsgi;
  scgi_temp_path ${temp}/scgi;
  server {
    listen 127.0.0.1:${ports.http};
    root ${root};
    location /paced/ { alias ${root}/; limit_rate ${pacedRate}; }
    location /gone/ { return 404; }
  }
  server {
    listen 127.0.0.1:${ports.https} ssl http2;
    ssl_certificate ${tls.server.certPath};
    ssl_certificate_key ${tls.server.keyPath};
    root ${root};
  }
}
`;
}

/** A port the kernel just handed out and we released: free unless someone races us for it. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPorts(ports, deadlineMs = 10_000) {
  const deadline = Date.now() + deadlineMs;
  for (const port of ports) {
    while (!(await canConnect(port))) {
      if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${deadlineMs} ms`);
      await sleep(50);
    }
  }
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => resolve(true)).once('error', () => resolve(false));
    socket.once('close', () => socket.destroy());
    socket.once('connect', () => socket.end());
  });
}

/** SIGQUIT lets workers finish gracefully; SIGTERM if they have not within 5 s. */
async function stopChild(child, exited) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGQUIT');
  const timer = setTimeout(() => child.kill('SIGTERM'), 5000);
  await exited;
  clearTimeout(timer);
}
