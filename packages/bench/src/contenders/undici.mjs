// @nectar/undici as a user gets it: `new UndiciDownloader()` with no settings but the test CA's
// trust. The forced modes run only when named (`--only undici-threaded`): they compare the
// engine's modes while it changes, and are no target's subject.
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
