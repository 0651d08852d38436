// @nectar/axios, and the plain axios loop its small-file target is measured against.
import { fileURLToPath } from 'node:url';
import { packageUnavailable } from '../backends.mjs';
import { nectarContender } from './nectar-contender.mjs';

const LOOP_CLIENT = fileURLToPath(new URL('../axios-loop-client.mjs', import.meta.url));

export const nectarAxios = nectarContender({
  id: 'axios',
  name: 'axios',
  backend: 'axios',
  transports: ['http', 'https'],
});

/** One file after another with axios alone: a floor, not a rival, so it runs on small files only. */
export const axiosPlainLoop = {
  id: 'axios-plain-loop',
  name: 'axios plain loop',
  family: 'loop',
  transports: ['http', 'https'],
  sets: ['small'],
  unavailable: () => packageUnavailable('@nectar/axios'),
  command(_workload, inputs) {
    const ca = inputs.caPath === null ? [] : ['--ca', inputs.caPath];
    return { program: process.execPath, args: [LOOP_CLIENT, '--list', inputs.urlList, '--dest', inputs.dest, ...ca] };
  },
};
