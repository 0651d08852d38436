// What is downloaded, over which transport, into which kind of folder, and against which tool.
import { formatSize } from './sizes.mjs';

const TRANSPORT_LABELS = { http: 'HTTP', https: 'HTTPS', file: 'file://', sftp: 'SFTP' };
const TARGET_LABELS = { tmp: 'temp dir', tmpfs: 'tmpfs' };

/** The reference tool each transport's ratios are measured against. */
const REFERENCES = { http: 'curl', https: 'curl', file: 'cp', sftp: 'openssh-sftp' };

// [set, transport, target, in --quick?]
const MATRIX = [
  ['small', 'http', 'tmp', true],
  ['small', 'https', 'tmp', true],
  ['small', 'http', 'tmpfs', true],
  ['small', 'https', 'tmpfs', false],
  ['medium', 'http', 'tmp', true],
  ['medium', 'https', 'tmp', false],
  ['large', 'http', 'tmp', true],
  ['large', 'https', 'tmp', true],
  ['small', 'file', 'tmpfs', true],
  ['medium', 'file', 'tmp', false],
  ['large', 'file', 'tmp', true],
  ['small', 'sftp', 'tmp', true],
  ['large', 'sftp', 'tmp', true],
];

/** Every workload of this run, in the order they run and print. */
export function allWorkloads(sets, { quick }) {
  return MATRIX.filter(([, , , inQuick]) => !quick || inQuick).map(([setName, transport, target]) =>
    workload(sets[setName], transport, target),
  );
}

function workload(set, transport, target) {
  const files = set.count === 1 ? `${formatSize(set.size)} file` : `${set.count.toLocaleString('en')} × ${formatSize(set.size)}`;
  return {
    id: `${set.name}-${transport}-${target}`,
    label: `${files} → ${TARGET_LABELS[target]}, ${TRANSPORT_LABELS[transport]}`,
    set,
    transport,
    target,
    files: set.count,
    bytes: set.count * set.size,
    reference: REFERENCES[transport],
    // A warm-up round costs as much as a measured one: worth it only where runs are short.
    warmUp: set.name !== 'large',
  };
}
