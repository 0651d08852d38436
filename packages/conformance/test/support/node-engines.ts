/**
 * Just enough of semver for `engines.node` ranges as vitest writes them
 * (`^22.12.0 || ^24.0.0 || >=26.0.0`): the project depends on no semver library, and a range
 * this code cannot read is an error, never a guess.
 */
type Version = [number, number, number];

export function satisfiesNode(version: string, range: string): boolean {
  return alternatives(range).some((alternative) => matches(parse(version), alternative));
}

/** The first alternative of the range, as an npm version spec (`^22.12.0`): the Node to install. */
export function firstAlternative(range: string): string {
  const [first] = alternatives(range);
  if (first === undefined) throw new Error(`engines.node ${JSON.stringify(range)} names no version`);
  return first;
}

function alternatives(range: string): string[] {
  return range
    .split('||')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

function matches(version: Version, alternative: string): boolean {
  const match = /^(\^|>=)?\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(alternative);
  if (match === null) throw new Error(`cannot read the engines.node alternative ${JSON.stringify(alternative)}`);
  const floor: Version = [Number(match[2]), Number(match[3] ?? 0), Number(match[4] ?? 0)];
  if (match[1] === '^') return version[0] === floor[0] && compare(version, floor) >= 0;
  if (match[1] === '>=') return compare(version, floor) >= 0;
  return compare(version, floor) === 0;
}

function parse(version: string): Version {
  const [major = 0, minor = 0, patch = 0] = version.replace(/^v/, '').split('.').map(Number);
  return [major, minor, patch];
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}
