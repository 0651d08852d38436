import { type AfterHeadersDecision, type AfterHeadersHook, type ArrivedHeaders, type DownloadEventListener, type DownloadReport, type Downloader, DownloaderConfig, type Redactor } from '@nectar/core/backend';
import type { GetOptions } from './args.js';
import { checkBackend, createRegistry } from './backends.js';
import { netrcHeaders } from './credentials.js';
import { loadNetrc } from './netrc.js';
import { filenameFromContentDisposition } from './content-disposition.js';
import { configFromOptions, parseChecksum } from './config.js';
import { withDefaultSshKeys } from './ssh-identity.js';
import { EXIT } from './exit-codes.js';
import { DestinationPlanner, type ExistingFiles, type Planned, STDOUT } from './destinations.js';
import { type Display, silentDisplay } from './display.js';
import type { CliIo } from './io.js';
import { PlainLines, jsonLine } from './lines.js';
import type { Outcome } from './outcome.js';
import { type LineWriter, lineWriter } from './redact.js';
import { type StopSignal, exitStatusFor, onStopSignals } from './signals.js';
import { ListReadError, openList, urlSource } from './sources.js';
import { colourfulTerminal } from './style.js';
import { slowedLine } from './slowed.js';
import { summaryLines } from './summary.js';
import { Tally } from './tally.js';

export const EXIT_OK = EXIT.ok;
/** Any failure of no more precise cause; the others are in EXIT (exit-codes.ts). */
export const EXIT_FAILED = EXIT.failed;
export const EXIT_USAGE = EXIT.usage;
/** Ctrl-C; SIGTERM and SIGHUP end with their own 128+n (exitStatusFor). */
export const EXIT_INTERRUPTED = 130;

/** `nectar get`: everything after the command line was parsed. Returns the exit status. */
export async function runGet(urls: readonly string[], options: GetOptions, io: CliIo, commandLine: Redactor): Promise<number> {
  // Every option is checked before the first byte moves: a usage error never half-runs.
  const fields = withDefaultSshKeys(configFromOptions(options));
  const checked = new DownloaderConfig(fields);
  const backend = checkBackend(options.backend);
  const netrc = options.user === undefined ? await loadNetrc(options.netrc, options['netrc-file'], io.cwd) : undefined;
  const redactor = netrc === undefined ? commandLine : commandLine.with(netrc.passwords);
  const planner = new DestinationPlanner({
    cwd: io.cwd,
    output: options.output,
    stdout: io.stdout,
    directory: options.directory,
    existing: existingFiles(options),
    checksum: options.checksum === undefined ? undefined : parseChecksum(options.checksum),
    mirrors: options.mirror,
    headersFor: netrc === undefined ? undefined : (url) => netrcHeaders(netrc, url),
  });
  const list = await openList(options['input-file'], io.cwd, io.stdin);
  const registry = await createRegistry(backend);
  await planner.prepare();
  const tally = new Tally();
  tally.known = urls.length;
  tally.moreToCome = list !== undefined;
  const colours = colourfulTerminal(io.stderr);
  const display = await createDisplay(options, io, tally, redactor, colours);
  const run = new Run({ options, io, planner, redactor, tally, display, colours });
  // -J names files when their headers arrive: core's hook, so the file is committed under that name.
  const config = run.afterHeaders === undefined ? checked : new DownloaderConfig({ ...fields, afterHeaders: run.afterHeaders });
  return run.execute(registry.create(config, run.listener), urlSource(urls, list, run.interrupt.signal));
}

/**
 * Bars on a terminal, lines otherwise (-q: failures only), nothing with -qq. The bars' modules
 * are loaded only for a terminal: a script or a pipe never pays for them.
 */
async function createDisplay(options: GetOptions, io: CliIo, tally: Tally, redactor: Redactor, colours: boolean): Promise<Display> {
  const quiet = options.quiet?.length ?? 0;
  if (quiet >= 2) return silentDisplay;
  if (quiet === 0 && io.stderr.isTTY === true) {
    const { ProgressBars } = await import('./progress.js');
    return new ProgressBars(io.stderr, tally, redactor, colours);
  }
  return new PlainLines(lineWriter(io.stderr, redactor, colours), tally, { failuresOnly: quiet > 0 });
}

interface RunParts {
  readonly options: GetOptions;
  readonly io: CliIo;
  readonly planner: DestinationPlanner;
  readonly redactor: Redactor;
  readonly tally: Tally;
  readonly display: Display;
  /** Whether stderr takes colours (failures in red). */
  readonly colours: boolean;
}

function existingFiles(options: GetOptions): ExistingFiles {
  if (options.timestamping === true) return 'timestamp';
  // --state: core decides, from what it recorded, whether an existing file is asked for again.
  if (options.state !== undefined) return 'timestamp';
  if (options.force === true) return 'overwrite';
  if (options['skip-existing'] === true) return 'skip';
  // -c resumes kept part files; a finished file with no part beside it is left as it is.
  if (options.continue === true) return 'continue';
  return 'fail';
}

/** One run of downloads: its display, its tally, its handling of Ctrl-C and the other stop signals. */
class Run {
  readonly interrupt = new AbortController();
  readonly #tally: Tally;
  readonly #display: Display;
  readonly #json: LineWriter | undefined;
  readonly #stderr: LineWriter;
  readonly #planner: DestinationPlanner;
  readonly #io: CliIo;
  readonly #redactor: Redactor;
  /** The signal that stopped the run, once one came. */
  #stoppedBy: StopSignal | undefined;
  /** Why the -i list could not be read to its end. */
  #listError: ListReadError | undefined;
  readonly #quiet: number;
  /** Where -J had core commit a file (its Content-Disposition name), by report, until it settles. */
  readonly #placed = new Map<DownloadReport, string>();
  /** config.afterHeaders for -J; undefined without it. */
  readonly afterHeaders: AfterHeadersHook | undefined;

  constructor({ options, io, planner, redactor, tally, display, colours }: RunParts) {
    this.#io = io;
    this.#planner = planner;
    this.#redactor = redactor;
    this.#tally = tally;
    this.#display = display;
    this.#quiet = options.quiet?.length ?? 0;
    this.afterHeaders = options['content-disposition'] === true ? (arrived) => this.#nameFromHeaders(arrived) : undefined;
    this.#stderr = lineWriter(io.stderr, redactor, colours);
    // Values are masked before serialising: masking the JSON text could not see an escaped secret.
    this.#json = options.json === true ? (line) => io.stdout.write(`${line}\n`) : undefined;
  }

  readonly listener: DownloadEventListener = {
    downloadStarted: (report) => {
      this.#tally.start(report);
      this.#display.started(report);
    },
    downloadProgress: (report) => {
      this.#tally.running(report)?.observe(Date.now(), true);
      this.#display.progress(report);
    },
    downloadHeaders: (report) => this.#attemptStarted(report),
    // A host that answered 429/503 is slowed for every download to it: said once per slowdown.
    hostSlowed: (_report, slowdown) => this.#display.note(slowedLine(slowdown)),
  };

  /** -J: the Content-Disposition name, chosen before any byte is written (a retry chooses again). */
  #nameFromHeaders({ report, headers }: ArrivedHeaders): AfterHeadersDecision {
    const value = headers['content-disposition'];
    const name = typeof value === 'string' ? filenameFromContentDisposition(value) : undefined;
    const planned = report.destination;
    if (name === undefined || typeof planned !== 'string') return undefined;
    const chosen = this.#planner.choose(planned, name);
    if (chosen.note !== undefined) this.#display.note(chosen.note);
    if (chosen.path === planned) return undefined;
    this.#placed.set(report, chosen.path);
    // A file that appears there meanwhile is kept too: core then fails this download rather than replace it.
    return { destination: chosen.path, replace: this.#planner.replaces };
  }

  /** A resume is known once the server agreed to it: the attempt's headers came, past byte 0. */
  #attemptStarted(report: DownloadReport): void {
    const running = this.#tally.running(report);
    if (running === undefined) return;
    const before = running.resumedFrom;
    running.attemptStarted();
    if (before === null && running.resumedFrom !== null) this.#display.resumed(running);
  }

  async execute(downloader: Downloader, urls: AsyncIterable<string>): Promise<number> {
    const stopListening = onStopSignals(this.#io.signals, (signal) => this.#onStopSignal(signal, downloader));
    try {
      for await (const report of downloader.stream(this.#requests(urls))) await this.#settle(report);
    } catch (error) {
      // The downloads already read have settled; the list's end is what went missing.
      if (!(error instanceof ListReadError)) throw error;
      this.#listError = error;
    } finally {
      stopListening();
      await downloader.close();
      this.#display.stop();
    }
    return this.#finish();
  }

  #finish(): number {
    if (this.#listError !== undefined) this.#stderr(`nectar: ${this.#listError.message}`);
    if (this.#quiet < 2) for (const line of summaryLines(this.#tally, this.#stoppedBy !== undefined)) this.#stderr(line.text, line.style);
    if (this.#stoppedBy !== undefined) return exitStatusFor(this.#stoppedBy);
    if (this.#listError !== undefined) return EXIT_USAGE;
    return this.#tally.status;
  }

  async *#requests(urls: AsyncIterable<string>) {
    let read = 0;
    for await (const url of urls) {
      // The command line's URLs were counted at the start; a list's, as they are read.
      this.#tally.known = Math.max(this.#tally.known, ++read);
      const planned: Planned = await this.#planner.plan(url);
      if ('request' in planned) yield planned.request;
      else this.#record(planned.outcome);
    }
    this.#tally.moreToCome = false;
  }

  async #settle(report: DownloadReport): Promise<void> {
    let destination = typeof report.destination === 'string' ? report.destination : STDOUT;
    // -N or --state: core asked conditionally (or trusted a digest) and left the file as it was.
    if (report.state === 'succeeded' && report.outcome === 'unchanged') {
      this.#record({ report, destination, skipped: 'unchanged' });
      return;
    }
    const placed = this.#placed.get(report);
    this.#placed.delete(report);
    if (typeof report.destination === 'string') this.#planner.release(report, placed === undefined ? [report.destination] : [report.destination, placed]);
    if (placed !== undefined && report.state === 'succeeded') destination = placed;
    const resumedFrom = this.#tally.running(report)?.resumedFrom ?? undefined;
    this.#record(resumedFrom === undefined ? { report, destination } : { report, destination, resumedFrom });
  }

  #record(outcome: Outcome): void {
    this.#tally.settle(outcome);
    this.#display.settled(outcome);
    this.#json?.(jsonLine(outcome, this.#redactor));
  }

  /**
   * First stop signal: cancel and let everything settle (no partial files), then the summary.
   * Second: leave now (a part file may stay; the next run recovers it).
   */
  #onStopSignal(signal: StopSignal, downloader: Downloader): void {
    if (this.#stoppedBy !== undefined) {
      this.#display.stop();
      this.#io.exit(exitStatusFor(signal));
      return;
    }
    this.#stoppedBy = signal;
    this.interrupt.abort();
    const again = signal === 'SIGINT' ? 'Ctrl-C' : signal;
    this.#display.note(`interrupted${signal === 'SIGINT' ? '' : ` by ${signal}`}: canceling downloads (${again} again to quit at once)`);
    downloader.cancel();
  }
}
