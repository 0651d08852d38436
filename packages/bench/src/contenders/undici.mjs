// @nectar/undici as a user gets it: `new UndiciDownloader()` with no settings but the test CA's
// trust. The forced modes run only when named (`--only undici-threaded`): they compare the
// engine's modes while it changes, and are no target's subject. `undici-h1` and `undici-h2` set
// `http2` both ways (not the default, which may change) and run only in the h2 workload.
import { nectarContender } from './nectar-contender.mjs';

export const undiciDefault = nectarContender({
  id: 'undici',
  name: 'Nectar (default)',
  backend: 'undici',
  transports: ['http', 'https'],
});

export const undiciThreaded = nectarContender({
  id: 'undici-threaded',
  name: 'Nectar (threads: 4)',
  backend: 'undici',
  transports: ['http', 'https'],
  optIn: true,
  config: () => ({ threads: 4 }),
});

export const undiciInProcess = nectarContender({
  id: 'undici-in-process',
  name: 'Nectar (threads: 0)',
  backend: 'undici',
  transports: ['http', 'https'],
  optIn: true,
  config: () => ({ threads: 0 }),
});

export const undiciH1 = nectarContender({
  id: 'undici-h1',
  name: 'Nectar (http2: false)',
  backend: 'undici',
  transports: ['https'],
  variants: ['h2'],
  config: () => ({ http2: false }),
});

export const undiciH2 = nectarContender({
  id: 'undici-h2',
  name: 'Nectar (http2: true)',
  backend: 'undici',
  transports: ['https'],
  variants: ['h2'],
  config: () => ({ http2: true }),
});
