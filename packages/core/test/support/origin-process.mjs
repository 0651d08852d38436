// An origin in a process of its own, for rate checks: timestamps taken in the test's own process
// bunch up whenever its event loop is busy (client and server share it), which would show a
// burst the wire never carried. Prints its port, then one line per request: "<ms> <path>".
// `/redirect/<path>` answers 302 to /<path>; any other path answers 500 to its first request.
import { createServer } from 'node:http';

const seen = new Set();
const server = createServer((request, response) => {
  const url = request.url ?? '/';
  process.stdout.write(`${performance.now().toFixed(3)} ${url}\n`);
  if (url.startsWith('/redirect/')) return void response.writeHead(302, { location: url.slice(9) }).end();
  if (!seen.has(url)) {
    seen.add(url);
    return void response.writeHead(500).end();
  }
  response.writeHead(200, { 'content-length': 10 }).end('0123456789');
});
server.keepAliveTimeout = 500;
server.listen(0, '127.0.0.1', () => process.stdout.write(`port ${server.address().port}\n`));
process.on('disconnect', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
