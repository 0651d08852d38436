import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { type DownloadReport, DownloadRequest } from '@nectar/core';
import { createProxy } from 'proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectState } from '../outcome.js';
import type { SuiteContext } from '../context.js';
import { type CertificateFiles, type TlsMaterial, tlsMaterial } from '../fixtures/tls.js';

const BODY = Buffer.from('served by the host its certificate names\n');

/** The two ways to name the loopback host, and the certificate issued for each one only. */
type Host = '127.0.0.1' | 'localhost';
const HOSTS: readonly Host[] = ['127.0.0.1', 'localhost'];
const CERTIFICATE_FOR: Readonly<Record<Host, 'ipOnly' | 'localhostOnly'>> = { '127.0.0.1': 'ipOnly', localhost: 'localhostOnly' };

/** A server on 127.0.0.1 that records CONNECT targets; stop() ends its connections and tunnels. */
interface Running {
  readonly port: number;
  readonly connects: readonly string[];
  stop(): Promise<void>;
}

interface Servers {
  /** An https origin per host, presenting the certificate issued for that host only. */
  readonly origins: Readonly<Record<Host, Running>>;
  readonly httpProxy: Running;
  /** An https proxy per host, presenting the certificate issued for that host only. */
  readonly httpsProxies: Readonly<Record<Host, Running>> | undefined;
  stop(): Promise<void>;
}

/**
 * The TLS identity checked through a proxy is always the host of the URL being reached: the
 * target's through the tunnel (an IP against the certificate's IP names, a name against its DNS
 * names), the proxy's own for an https proxy. Each certificate here names one form of the host
 * only, so that checking one name in place of the other fails a case.
 */
export function proxyIdentityCases(ctx: SuiteContext): void {
  describe.runIf(ctx.has('proxy') && ctx.has('tls'))('TLS identity through a proxy', () => {
    let servers: Servers | undefined;
    beforeAll(async () => {
      servers = await startServers(await tlsMaterial(), ctx.has('httpsProxy'));
    });
    afterAll(() => servers?.stop());
    const started = () => servers!;

    for (const proxyScheme of ['http', 'https'] as const) {
      describe.runIf(proxyScheme === 'http' || ctx.has('httpsProxy'))(`the target's certificate, through an ${proxyScheme} proxy`, () => {
        for (const host of HOSTS) {
          for (const certified of HOSTS) {
            const matches = host === certified;
            it(`${matches ? 'accepts' : 'rejects'} https://${host} presenting a certificate for ${certified} only`, async () => {
              const { origins, httpProxy, httpsProxies } = started();
              // The https proxy is reached by IP with its IP-only certificate: it must pass, so
              // that only the target's identity decides the case.
              const proxy = proxyScheme === 'http' ? httpProxy : httpsProxies!['127.0.0.1'];
              const target = `${host}:${origins[certified].port}`;
              const { reports, folder } = await fetchThrough(ctx, `${proxyScheme}://127.0.0.1:${proxy.port}`, [`https://${target}/file`]);
              expect(proxy.connects).toContain(target);
              await expectOutcome(ctx, reports, folder, matches ? 'succeeded' : 'NECTAR_TLS');
            });
          }
        }
      });
    }

    describe.runIf(ctx.has('httpsProxy'))("an https proxy's own certificate", () => {
      for (const host of HOSTS) {
        for (const certified of HOSTS) {
          const matches = host === certified;
          it(`${matches ? 'accepts' : 'rejects'} the proxy https://${host} presenting a certificate for ${certified} only, for http and https targets`, async () => {
            const { origins, httpsProxies } = started();
            const proxy = httpsProxies![certified];
            const plain = await ctx.publish(100);
            const tunnelled = `https://127.0.0.1:${origins['127.0.0.1'].port}/file`;
            const { reports, folder } = await fetchThrough(ctx, `https://${host}:${proxy.port}`, [plain.url, tunnelled]);
            // NECTAR_PROXY, not NECTAR_TLS: the report must say it is the proxy's certificate.
            await expectOutcome(ctx, reports, folder, matches ? 'succeeded' : 'NECTAR_PROXY');
          });
        }
      }
    });
  });
}

async function fetchThrough(ctx: SuiteContext, proxyUrl: string, urls: readonly string[]): Promise<{ reports: DownloadReport[]; folder: string }> {
  const tls = await tlsMaterial();
  const folder = await ctx.folder();
  const requests = urls.map((url, i) => new DownloadRequest(url, join(folder, `f${i}`)));
  const reports = await ctx.downloader({ proxyUrl, sslCaCert: tls.ca.cert }).download(requests);
  return { reports, folder };
}

/** Every report succeeded (the identity origins' body on disk), or failed with `outcome` leaving no file. */
async function expectOutcome(ctx: SuiteContext, reports: readonly DownloadReport[], folder: string, outcome: 'succeeded' | 'NECTAR_TLS' | 'NECTAR_PROXY'): Promise<void> {
  for (const report of reports) {
    const why = JSON.stringify(report.errorReport);
    if (outcome === 'succeeded') {
      expectState(report, 'succeeded');
      if (typeof report.destination === 'string' && report.url.endsWith('/file')) expect(await readFile(report.destination)).toEqual(BODY);
    } else {
      expectState(report, 'failed');
      expect(report.errorReport.code, why).toBe(outcome);
    }
  }
  if (outcome !== 'succeeded') expect(await ctx.leftovers(folder)).toEqual([]);
}

async function startServers(tls: TlsMaterial, withHttpsProxies: boolean): Promise<Servers> {
  const each = <T>(make: (host: Host) => Promise<T>) =>
    Promise.all(HOSTS.map(make)).then(([ip, name]) => ({ '127.0.0.1': ip!, localhost: name! }));
  const origins = await each((host) => listen(originServer(tls[CERTIFICATE_FOR[host]])));
  const httpProxy = await listen(proxyServer(undefined));
  const httpsProxies = withHttpsProxies ? await each((host) => listen(proxyServer(tls[CERTIFICATE_FOR[host]]))) : undefined;
  const all = [...Object.values(origins), httpProxy, ...Object.values(httpsProxies ?? {})];
  return { origins, httpProxy, httpsProxies, stop: async () => void (await Promise.all(all.map((s) => s.stop()))) };
}

function originServer(identity: CertificateFiles): Server {
  return createHttpsServer({ key: identity.key, cert: identity.cert }, (_req, res) => res.end(BODY));
}

/** A forward proxy (the `proxy` package), over TLS with `identity` when given. */
function proxyServer(identity: CertificateFiles | undefined): Server {
  const server = identity === undefined ? createHttpServer() : createHttpsServer({ key: identity.key, cert: identity.cert });
  return createProxy(server);
}

async function listen(server: Server): Promise<Running> {
  const sockets = new Set<Duplex>();
  const connects: string[] = [];
  const track = (socket: Duplex) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  server.on('connection', track);
  // A tunnelled socket leaves the HTTP parser, so closeAllConnections() no longer sees it.
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    connects.push(req.url ?? '');
    track(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const stop = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  return { port, connects, stop };
}
