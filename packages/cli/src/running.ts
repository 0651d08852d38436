import type { DownloadReport } from '@nectar/core';
import { SpeedMeter } from './speed.js';

/**
 * One download in flight as the displays see it: the bytes this run moved (a resumed file's kept
 * part is not news, and counting it would make the speed and every ETA lie) and where it resumed.
 */
export class RunningDownload {
  readonly report: DownloadReport;
  /** The bytes a kept part file held when this run continued it (-c); null when it began at 0. */
  resumedFrom: number | null = null;
  readonly meter = new SpeedMeter();
  /** The report's byte count when last read. */
  #last: number;
  #moved = 0;
  #attempts = 0;
  /**
   * Core sets the byte count to the kept part's size before the first attempt: growth seen before
   * an attempt is known to run (its headers, or its first progress event) is not counted.
   */
  #armed = false;

  constructor(report: DownloadReport) {
    this.report = report;
    this.#last = report.bytesDownloaded;
  }

  /**
   * An attempt got its headers (HTTP): what is on disk now was there before it. The first
   * attempt starting past 0 continues a kept part; a later one starting below it restarted.
   */
  attemptStarted(): void {
    const offset = this.report.bytesDownloaded;
    if (this.#attempts++ === 0 && offset > 0) this.resumedFrom = offset;
    else if (this.resumedFrom !== null && offset < this.resumedFrom) this.resumedFrom = null;
    this.#last = offset;
    this.#armed = true;
  }

  /**
   * Reads the report's byte count: growth is moved bytes, a drop (a restart) is not. `arm`:
   * the caller knows bytes are flowing (a progress event, the settle).
   */
  observe(now = Date.now(), arm = false): void {
    this.#armed ||= arm;
    const bytes = this.report.bytesDownloaded;
    if (this.#armed && bytes > this.#last) this.#moved += bytes - this.#last;
    if (this.#armed) this.#last = bytes;
    this.meter.sample(this.#moved, now);
  }

  /** Bytes this run downloaded for this file, retries included. */
  get moved(): number {
    return this.#moved;
  }

  /** Bytes still to come; null while the size is unknown. */
  get remaining(): number | null {
    const { totalBytes, bytesDownloaded } = this.report;
    return totalBytes === null ? null : Math.max(0, totalBytes - bytesDownloaded);
  }
}
