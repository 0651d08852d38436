// @nectar/file: file:// URLs copied by the default mode (copy).
import { nectarContender } from './nectar-contender.mjs';

export const nectarFile = nectarContender({ id: 'nectar-file', name: 'file', backend: 'file', transports: ['file'] });
