// @nectar/undici in both modes. `threads` is read by the worker-thread mode (0 = in-process);
// a version without that mode ignores the field, and both contenders then measure the same code.
import { nectarContender } from './nectar-contender.mjs';

export const undiciThreaded = nectarContender({
  id: 'undici-threaded',
  name: 'undici (threaded)',
  backend: 'undici',
  transports: ['http', 'https'],
  config: () => ({ threads: 4 }),
});

export const undiciInProcess = nectarContender({
  id: 'undici-in-process',
  name: 'undici (in-process)',
  backend: 'undici',
  transports: ['http', 'https'],
  config: () => ({ threads: 0 }),
});
