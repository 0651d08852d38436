// `node -e 0`: what any Node program pays before its first line runs. It downloads nothing, so
// its folder is not checked; it is the floor `nectar get` of one file is measured against.
export const nodeStartup = {
  id: 'node-startup',
  name: 'node -e 0',
  family: 'floor',
  transports: ['http', 'https'],
  sets: ['one'],
  downloads: false,
  unavailable: () => null,
  command: () => ({ program: process.execPath, args: ['-e', '0'] }),
};
