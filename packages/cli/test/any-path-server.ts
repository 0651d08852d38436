import { once } from 'node:events';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Answers every path with the same body: the fixture server only serves published names, and
 * the traversal cases need hostile names (`..%2F..%2Fetc%2Fpasswd`) to succeed. `?cd=VALUE`
 * sends VALUE as Content-Disposition.
 */
export async function anyPathServer(body: string): Promise<{ origin: string; stop: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const cd = new URL(req.url ?? '/', 'http://x').searchParams.get('cd');
    res.writeHead(200, { 'content-length': Buffer.byteLength(body), ...(cd === null ? {} : { 'content-disposition': cd }) });
    res.end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
