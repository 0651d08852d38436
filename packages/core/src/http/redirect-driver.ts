import type { ResolvedConfig } from '../config.js';
import type { FailureContext } from './failure.js';
import { RedirectTracker, isRedirect } from './redirects.js';
import { type ResumeJob, rangeHeaders } from './resume.js';

/** One request of a chain: where to, with which headers, and whether it left the first origin. */
export interface Hop {
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly crossOrigin: boolean;
}

/** What the driver reads of an answer: its status and, for a redirect, where to. */
export interface HopAnswer {
  readonly status: number;
  readonly location: string | undefined;
}

/** Waits, before each request, for the per-origin limits (a TransferJob's `hosts`). */
export interface RequestPermits {
  enter(url: URL): Promise<void>;
}

/** The job as the driver needs it: a TransferJob, or a worker thread's copy of one. */
export interface RedirectJob extends ResumeJob {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly config: ResolvedConfig;
  /** Absent in a worker thread: there only the attempt's first request is counted. */
  readonly hosts?: RequestPermits;
}

/**
 * The one redirect-following loop of every HTTP backend: sends the first hop (with the resume
 * headers), and while the answer is a redirect drops its body and follows it by core's rule
 * (RedirectTracker: hop limit, loops, credentials and headers dropped across origins), moving
 * `context.url` along so that a failure names the URL it happened at. A backend supplies how to
 * send one hop and how to drop an unwanted answer.
 */
export async function followRedirects<A extends HopAnswer>(
  job: RedirectJob,
  context: FailureContext,
  send: (hop: Hop) => Promise<A>,
  drop: (answer: A) => Promise<void>,
): Promise<{ answer: A; url: URL }> {
  const tracker = new RedirectTracker(job.url, job.config);
  let url = job.url;
  let headers: Record<string, string> = { ...job.headers, ...rangeHeaders(job) };
  for (;;) {
    context.url = url;
    // Every hop is a request to its origin: it takes that origin's slot and a rate token.
    await job.hosts?.enter(url);
    const answer = await send({ url, headers, crossOrigin: tracker.crossOrigin(url) });
    if (!isRedirect(answer.status)) return { answer, url };
    await drop(answer);
    ({ url, headers } = tracker.follow(url, answer.status, answer.location, 'GET', headers));
  }
}
