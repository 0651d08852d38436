// The figures as rows of text, shared by the terminal table and the README's Markdown table.

export const COLUMNS = ['contender', 'wall s', 'files/s', 'MiB/s', '× ref', 'peak RSS MiB', 'CPU s', 'note'];

/** One row per contender of `workload`: formatted figures, or the reason it has none. */
export function workloadRows(workload) {
  return workload.contenders.map((c) => {
    const s = c.summary;
    const reference = c.id === workload.reference ? 'reference' : '';
    const failed = c.error === null ? '' : `failed: ${firstLine(c.error)}`;
    return [
      c.name,
      fixed(s.wallSeconds, s.wallSeconds < 1 ? 3 : 2),
      fixed(s.filesPerSecond, s.filesPerSecond >= 100 ? 0 : 1),
      fixed(s.mibPerSecond, 1),
      c.id === workload.reference ? '1.00' : fixed(c.ratio, 2),
      fixed(s.peakRssMiB, 0),
      fixed(s.cpuSeconds, 2),
      [reference, failed, s.runs > 0 && s.runs < workload.repetitions ? `${s.runs}/${workload.repetitions} runs` : ''].filter(Boolean).join('; '),
    ];
  });
}

/** Plain-text table, columns padded, numbers right-aligned. */
export function textTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const numeric = header.map((_, i) => i > 0 && rows.every((r) => r[i] === '–' || /^[\d.]+$/.test(r[i])));
  const line = (cells) => cells.map((c, i) => (numeric[i] ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function markdownTable(header, rows) {
  const escapeCell = (cell) => String(cell).replaceAll('|', '\\|');
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.map(escapeCell).join(' | ')} |`).join('\n');
}

export function firstLine(text) {
  const line = String(text).split('\n')[0];
  return line.length > 120 ? `${line.slice(0, 117)}…` : line;
}

function fixed(value, digits) {
  return value === null || value === undefined ? '–' : value.toFixed(digits);
}
