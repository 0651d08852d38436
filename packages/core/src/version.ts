// Written by scripts/write-version.mjs from package.json at every build: a constant, not a file read
// at run time, so that an application bundled with esbuild, Rollup or webpack knows it too.
export const version: string = '0.1.0';
