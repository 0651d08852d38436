// A floor beside the bare loop, small files only: undici's dispatch() with a raw handler and one
// synchronous write per file, none of the library's guarantees (see the client's header). It
// shows how low the small-file target's bound sits: near this floor, not near the bare loop.
import { fileURLToPath } from 'node:url';
import { packageUnavailable } from '../backends.mjs';
import { undiciClientCommand } from './undici-loop.mjs';

const DISPATCH_CLIENT = fileURLToPath(new URL('../undici-dispatch-client.mjs', import.meta.url));

export const undiciDispatchFloor = {
  id: 'undici-dispatch',
  name: 'undici.dispatch floor',
  family: 'floor',
  transports: ['http', 'https'],
  sets: ['small'],
  unavailable: () => packageUnavailable('@nectar/undici'),
  command: (_workload, inputs) => undiciClientCommand(DISPATCH_CLIENT, inputs),
};
