import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { version } from '../src/index.js';

describe('version', () => {
  // scripts/write-version.mjs keeps it in step at every build; a bump without a build fails here.
  it('is the version package.json holds', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(version).toBe(pkg.version);
  });

  it('is a constant in the code, not read from a file at run time (bundled apps have no package.json beside it)', () => {
    const source = readFileSync(new URL('../src/version.ts', import.meta.url), 'utf8');
    expect(source).not.toMatch(/require|readFile|package\.json'\)|import\s/);
  });
});
