import type { DownloadEvent, DownloadEventListener, DownloadReport, DownloadState } from '@nectar/core';

/** One event as it happened: the report is live, so its fields are copied at that moment. */
export interface RecordedEvent {
  readonly event: DownloadEvent;
  readonly report: DownloadReport;
  readonly state: DownloadState;
  readonly bytesDownloaded: number;
  readonly totalBytes: number | null;
}

const letters: Record<DownloadEvent, string> = {
  downloadStarted: 'S',
  downloadHeaders: 'H',
  downloadProgress: 'P',
  downloadSucceeded: 'D',
  downloadFailed: 'F',
  downloadCanceled: 'C',
};

/** A listener that keeps every event, for checks of count and order. */
export class EventRecorder implements DownloadEventListener {
  readonly events: RecordedEvent[] = [];
  /** Called after each event is recorded: lets a case act at a given moment (cancel on progress). */
  onEvent: ((event: DownloadEvent, report: DownloadReport) => void) | undefined;

  downloadStarted(report: DownloadReport): void {
    this.#record('downloadStarted', report);
  }
  downloadHeaders(report: DownloadReport): void {
    this.#record('downloadHeaders', report);
  }
  downloadProgress(report: DownloadReport): void {
    this.#record('downloadProgress', report);
  }
  downloadSucceeded(report: DownloadReport): void {
    this.#record('downloadSucceeded', report);
  }
  downloadFailed(report: DownloadReport): void {
    this.#record('downloadFailed', report);
  }
  downloadCanceled(report: DownloadReport): void {
    this.#record('downloadCanceled', report);
  }

  /** The events of one report as letters: S started, H headers, P progress, D/F/C terminal. */
  sequence(report: DownloadReport): string {
    return this.of(report)
      .map((e) => letters[e.event])
      .join('');
  }

  of(report: DownloadReport): RecordedEvent[] {
    return this.events.filter((e) => e.report === report);
  }

  /** The most reports started and not yet settled at one time. */
  peakInFlight = 0;
  readonly #started = new Set<DownloadReport>();

  #record(event: DownloadEvent, report: DownloadReport): void {
    this.events.push({ event, report, state: report.state, bytesDownloaded: report.bytesDownloaded, totalBytes: report.totalBytes });
    if (event === 'downloadStarted') {
      this.#started.add(report);
      this.peakInFlight = Math.max(this.peakInFlight, this.#started.size);
    } else if (event === 'downloadSucceeded' || event === 'downloadFailed' || event === 'downloadCanceled') {
      this.#started.delete(report);
    }
    this.onEvent?.(event, report);
  }
}

/** Started once, progress at least once right before exactly one terminal event; or a lone cancel. */
export const validSequence = /^(S[HP]*P[DFC]|C)$/;
