// What is downloaded, over which transport, into which kind of folder, and against which tool.
import { formatSize } from './sizes.mjs';

const TRANSPORT_LABELS = { http: 'HTTP', https: 'HTTPS', file: 'file://', sftp: 'SFTP' };
const TARGET_LABELS = { tmp: 'temp dir', tmpfs: 'tmpfs' };
const VARIANT_LABELS = { h2: ', h2 against HTTP/1.1' };

/** The reference tool each transport's ratios are measured against. */
const REFERENCES = { http: 'curl', https: 'curl', file: 'cp', sftp: 'openssh-sftp' };

// One file is all start-up: it runs more rounds, and only the contenders its target compares.
const ONE_FILE = { contenders: ['curl', 'nectar-get', 'node-startup'], repetitions: { full: 10, quick: 3 } };

// Issue #18: the same list from the same HTTPS listener (nginx offers h2 and http/1.1 by ALPN),
// each tool once pinned to HTTP/1.1 and once asking for h2; only the protocol differs.
const H2 = { variant: 'h2', contenders: ['curl', 'curl-h2', 'undici-h1', 'undici-h2'] };

// [set, transport, target, in --quick?, options]
const MATRIX = [
  ['small', 'http', 'tmpfs', true],
  ['small', 'https', 'tmpfs', true],
  ['small', 'https', 'tmpfs', true, H2],
  ['small', 'http', 'tmp', false],
  ['small', 'https', 'tmp', false],
  ['medium', 'http', 'tmp', true],
  ['medium', 'https', 'tmp', false],
  ['large', 'http', 'tmp', true],
  ['large', 'https', 'tmp', true],
  ['one', 'http', 'tmpfs', true, ONE_FILE],
  ['small', 'file', 'tmpfs', true],
  ['medium', 'file', 'tmp', false],
  ['large', 'file', 'tmp', true],
  ['small', 'sftp', 'tmp', true],
  ['large', 'sftp', 'tmp', true],
];

/** Every workload of this run, in the order they run and print. */
export function allWorkloads(sets, { quick }) {
  return MATRIX.filter(([, , , inQuick]) => !quick || inQuick).map(([setName, transport, target, , options]) =>
    workload(sets[setName], transport, target, { quick, ...options }),
  );
}

function workload(set, transport, target, { quick, variant = null, contenders = null, repetitions = { full: 3, quick: 1 } }) {
  const files = set.count === 1 ? `${formatSize(set.size)} file` : `${set.count.toLocaleString('en')} × ${formatSize(set.size)}`;
  return {
    id: [set.name, transport, variant, target].filter(Boolean).join('-'),
    label: `${files} → ${TARGET_LABELS[target]}, ${TRANSPORT_LABELS[transport]}${variant === null ? '' : VARIANT_LABELS[variant]}`,
    set,
    transport,
    // null, or 'h2': a contender that names variants runs only in those (see contendersFor).
    variant,
    target,
    files: set.count,
    bytes: set.count * set.size,
    reference: REFERENCES[transport],
    // null: every contender that can run the transport and set.
    contenders,
    repetitions: quick ? repetitions.quick : repetitions.full,
    // A warm-up round costs as much as a measured one: worth it only where runs are short.
    warmUp: set.name !== 'large' && !quick,
  };
}
