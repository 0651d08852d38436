// Command-line flags of `npm run bench`.
import { parseArgs } from 'node:util';

export const usage = `usage: node src/run.mjs [--quick] [--only <name>[,<name>…]]...

  --quick        1 repetition (3 for one file), no warm-up, 256 MiB instead of 1 GiB, fewer
                 workloads, shorter probes: proves the harness works in a few minutes; its
                 figures are indicative only
  --only NAME    run only the named workloads, contenders or probes (repeatable, comma-separated);
                 a contender runs with each workload's reference tool so that ratios still exist,
                 and undici-threaded / undici-in-process (forced modes) run only when named.
                 Such a partial run writes results/partial.* and leaves the README alone
  --help         this text`;

/** The flags, with --only split into a set of names. */
export function parseOptions(argv = process.argv.slice(2)) {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', default: false },
    },
  });
  const only = new Set(values.only.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean));
  return { quick: values.quick, only, help: values.help };
}
