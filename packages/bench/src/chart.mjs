// The throughput chart: one panel per workload, a bar per contender. Vega-Lite compiles the spec
// and Vega renders it to SVG headless (renderer 'none'), so no native canvas is needed.
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

const FAMILY_LABELS = { nectar: 'Nectar', tool: 'reference tools', floor: 'plain loop (floor)' };

/** SVG text of MiB/s by contender for each workload that has figures. */
export async function throughputChart(results) {
  const values = results.workloads.flatMap((w) =>
    w.contenders
      .filter((c) => c.summary.mibPerSecond !== null)
      .map((c) => ({ workload: w.label, contender: c.name, family: FAMILY_LABELS[c.family], mibps: round(c.summary.mibPerSecond) })),
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
  const bar = { mark: { type: 'bar', height: { band: 0.8 } } };
  const label = { mark: { type: 'text', align: 'left', dx: 3, fontSize: 10 }, encoding: { text: { field: 'mibps', type: 'quantitative', format: '.1f' } } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `Throughput by contender (MiB/s, median) — ${results.mode} run, ${results.generatedAt.slice(0, 10)}`, anchor: 'start' },
    data: { values },
    facet: { field: 'workload', type: 'nominal', title: null, sort: results.workloads.map((w) => w.label), header: { labelFontSize: 12, labelFontWeight: 'bold', labelLimit: 400 } },
    columns: 2,
    spec: {
      width: 300,
      height: { step: 16 },
      encoding: {
        y: { field: 'contender', type: 'nominal', title: null, sort: null, axis: { labelLimit: 200 } },
        x: { field: 'mibps', type: 'quantitative', title: 'MiB/s' },
        color: { field: 'family', type: 'nominal', title: null, scale: { domain: Object.values(FAMILY_LABELS), range: ['#e8a317', '#6b7b8c', '#b8c4cf'] } },
      },
      layer: [bar, label],
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    config: { font: 'sans-serif', view: { stroke: null } },
  };
}

const round = (value) => Math.round(value * 10) / 10;
