// The chart: one panel per workload, a bar per contender, its median wall time (what the issue's
// table compares; time rather than MiB/s, so that `node -e 0`, which downloads nothing, has a
// bar too). Vega-Lite compiles the spec and Vega renders it to SVG headless (renderer 'none').
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import { h2Ratios } from './targets.mjs';

const FAMILY_LABELS = { nectar: 'Nectar', tool: 'reference tools', loop: 'hand-written loop', floor: 'floor (does less)' };
const FAMILY_COLOURS = ['#e8a317', '#6b7b8c', '#b8c4cf', '#8cc084'];

/** SVG text of the median wall time by contender for each workload that has figures. */
export async function wallTimeChart(results) {
  const panel = panelTitles(results);
  const values = results.workloads.flatMap((w) =>
    w.contenders
      .filter((c) => c.summary.wallSeconds !== null)
      .map((c) => ({ workload: panel.get(w.id), contender: c.name, family: FAMILY_LABELS[c.family], seconds: c.summary.wallSeconds, label: secondsLabel(c.summary.wallSeconds) })),
  );
  // Quiet: Vega-Lite warns that the facets' independent scales share a field, which is the point.
  const { spec } = vegaLite.compile(chartSpec(values, results), { logger: vega.logger(vega.Error) });
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function chartSpec(values, results) {
  const colour = { field: 'family', type: 'nominal', title: null, scale: { domain: Object.values(FAMILY_LABELS), range: FAMILY_COLOURS } };
  const bar = { mark: { type: 'bar', height: { band: 0.8 } }, encoding: { color: colour } };
  const label = { mark: { type: 'text', align: 'left', dx: 3, fontSize: 10, fill: '#333' }, encoding: { text: { field: 'label', type: 'nominal' } } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `Wall time by contender (s, median; shorter is faster) — ${results.mode} run, ${results.generatedAt.slice(0, 10)}`, anchor: 'start' },
    data: { values },
    facet: {
      field: 'workload',
      type: 'nominal',
      title: null,
      sort: [...panelTitles(results).values()],
      // A title may hold a second line (the h2 workload's ratios).
      header: { labelFontSize: 12, labelFontWeight: 'bold', labelLimit: 0, labelExpr: "split(datum.value, '\\n')" },
    },
    columns: 2,
    spec: {
      width: 300,
      height: { step: 16 },
      encoding: {
        y: { field: 'contender', type: 'nominal', title: null, sort: null, axis: { labelLimit: 240 } },
        x: { field: 'seconds', type: 'quantitative', title: 'seconds' },
      },
      layer: [bar, label],
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    config: { font: 'sans-serif', view: { stroke: null } },
  };
}

/** Each workload's panel title: its label, and for the h2 workload a line with h2 ÷ HTTP/1.1 time. */
function panelTitles(results) {
  const { ratios } = h2Ratios(results);
  const h2Line = ratios.length === 0 ? '' : `\nh2 ÷ HTTP/1.1 time: ${ratios.map((r) => `${r.label} ${r.ratio.toFixed(2)}×`).join(', ')}`;
  return new Map(results.workloads.map((w) => [w.id, w.variant === 'h2' ? `${w.label}${h2Line}` : w.label]));
}

const secondsLabel = (seconds) => `${seconds.toFixed(seconds < 1 ? 3 : 2)} s`;
