// curl --parallel: the reference for every HTTP(S) workload. The URLs come from a config file
// (-K) because 2,000 of them overflow no command line but make one unreadable.
//
// nginx offers h2 on its TLS listener (the h2 workload of issue #18), and curl asks for h2 over
// TLS by default: the reference is pinned to HTTP/1.1 so that every HTTPS workload measures what
// it did before; `curl-h2` asks for h2 (and multiplexes its transfers on one connection).
import { missingProgramReason } from '../tools.mjs';

function curlContender({ id, name, protocol, variants }) {
  return {
    id,
    name,
    family: 'tool',
    transports: ['http', 'https'],
    ...(variants === undefined ? {} : { variants }),
    unavailable: () => missingProgramReason(['curl']),
    command(_workload, inputs) {
      const ca = inputs.caPath === null ? [] : ['--cacert', inputs.caPath];
      return {
        program: 'curl',
        args: [
          '--parallel', '--parallel-max', String(inputs.concurrency),
          protocol,
          '--silent', '--show-error', '--fail',
          '--remote-name-all', '--output-dir', inputs.dest,
          ...ca, '-K', inputs.curlConfig,
        ],
      };
    },
  };
}

export const curl = curlContender({ id: 'curl', name: 'curl --parallel --http1.1', protocol: '--http1.1' });

export const curlH2 = curlContender({ id: 'curl-h2', name: 'curl --parallel --http2', protocol: '--http2', variants: ['h2'] });
