import { createRequire } from 'node:module';

// Read at run time so that a changesets version bump needs no code change.
export const version: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
