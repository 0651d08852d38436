import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Downloaders, fetchOne, type Scratch, scratch } from './helpers.js';

// A server that compresses whatever the client accepts, as many CDNs do: the fixtures never
// encode, so this one is ours.
const text = Buffer.from('nectar '.repeat(20_000));
const archive = gzipSync(Buffer.from('the .tar inside a .tar.gz'));
const seen: IncomingHttpHeaders[] = [];
let server: Server;
let origin: string;
const downloaders = new Downloaders();
let tmp: Scratch;

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers);
    if (req.url === '/archive.tar.gz') {
      // A server that labels a gzip file with Content-Encoding: gzip (a common misconfiguration).
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': archive.length });
      res.end(archive);
      return;
    }
    const accepted = String(req.headers['accept-encoding'] ?? '');
    const [encoding, bytes] = accepted.includes('br') ? ['br', brotliCompressSync(text)] : accepted.includes('gzip') ? ['gzip', gzipSync(text)] : ['identity', text];
    res.writeHead(200, { 'content-encoding': encoding, 'content-length': bytes.length });
    res.end(bytes);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  tmp = await scratch();
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await tmp.remove();
});
afterEach(async () => {
  await downloaders.closeAll();
  seen.length = 0;
});

describe('Content-Encoding', () => {
  it('writes a .tar.gz sent with Content-Encoding gzip as is, not gunzipped', async () => {
    const report = await fetchOne(downloaders.create(), `${origin}/archive.tar.gz`, tmp.path('archive.tar.gz'));
    expect(report.state).toBe('succeeded');
    expect((await readFile(tmp.path('archive.tar.gz'))).equals(archive)).toBe(true);
    // Content-Length counts exactly the bytes written, so it stays the total.
    expect(report.totalBytes).toBe(archive.length);
  });

  it('asks for identity by default and gets the plain bytes', async () => {
    const report = await fetchOne(downloaders.create(), `${origin}/text`, tmp.path('plain.txt'));
    expect(seen[0]?.['accept-encoding']).toBe('identity');
    expect(report.totalBytes).toBe(text.length);
    expect((await readFile(tmp.path('plain.txt'))).equals(text)).toBe(true);
  });

  it('with decompress, asks for compression and writes the decoded bytes, totalBytes null', async () => {
    const report = await fetchOne(downloaders.create({ decompress: true }), `${origin}/text`, tmp.path('decoded.txt'));
    expect(report.state, JSON.stringify(report.errorReport)).toBe('succeeded');
    expect(seen[0]?.['accept-encoding']).toContain('br');
    expect(report.totalBytes).toBeNull();
    expect(report.bytesDownloaded).toBe(text.length);
    expect((await readFile(tmp.path('decoded.txt'))).equals(text)).toBe(true);
  });

  it('with decompress and a gzip-only client header, decodes gzip', async () => {
    const downloader = downloaders.create({ decompress: true, headers: { 'accept-encoding': 'gzip' } });
    const report = await fetchOne(downloader, `${origin}/text`, tmp.path('gunzipped.txt'));
    expect(report.state).toBe('succeeded');
    expect((await readFile(tmp.path('gunzipped.txt'))).equals(text)).toBe(true);
  });
});
