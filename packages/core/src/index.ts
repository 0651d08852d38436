export { type Capability, type Supports, type UsedCapability, capabilities, supportsAll, usedCapabilities } from './capabilities.js';
export { DownloaderConfig, type DownloaderConfigInput, type DownloaderConfigOptions, type ResolvedConfig, defaults, withDefaults } from './config.js';
export { AtomicFile, type DestinationWriter, StreamDestination, destinationError, openPartFile, openPartFileSync, partPath, sidecarPath, syncFolder } from './destination.js';
export { lockPath } from './part-owner.js';
export { type DownloadOptions, Downloader, type RequestLike, type RequestSource, type Route, type SharedLimits } from './downloader.js';
export {
  type ErrorCodeClass,
  type NectarErrorCode,
  NectarArgumentError,
  NectarError,
  type NectarErrorOptions,
  classifyErrorCode,
  errorCodeOf,
  isNectarError,
  toNectarError,
} from './errors.js';
export { type DownloadEvent, type DownloadEventListener, emit } from './events.js';
export { proxyTlsOptions, targetTlsOptions } from './http/connection-tls.js';
export { contentCodings, undecodableError } from './http/content-coding.js';
export { type FailureContext, failureContext, failurePlace, transportError } from './http/failure.js';
export { type AnsweredJob, type FinalResponse, type ResponseOutcome, interpretResponse } from './http/final-response.js';
export { basicAuthorization, mergeHeaders, requestHeaders } from './http/headers.js';
export { RedirectTracker, type RedirectHop, isRedirect } from './http/redirects.js';
export {
  type ContentRange,
  type ResponseHeaders,
  announcedSize,
  contentLength,
  headerValue,
  parseContentRange,
  resumeValidator,
  unwantedBodyLimit,
} from './http/response.js';
export { type ResumeJob, checkResumedRange, completedBefore, rangeHeaders, resumeOffset } from './http/resume.js';
export { httpStatusError, parseRetryAfter, proxyError } from './http/status.js';
export type { TransferJob, TransferResponse } from './job.js';
export { ConcurrencyLimit } from './limits/concurrency.js';
export { SpeedLimiter, sharedClock } from './limits/speed.js';
export { type ProxySettings, proxyFromConfig } from './proxy.js';
export { Redactor, headerSecrets, redactText, redactUrl, secretQueryParams, urlSecrets } from './redact.js';
export { type BackendModule, type DownloaderFactory, DownloaderRegistry, type RegistryOptions, defaultRegistry, knownBackends } from './registry.js';
export { DownloadReport, type DownloadReportJSON, type DownloadState, terminalStates } from './report.js';
export { type Destination, DownloadRequest, type DownloadRequestJSON, type DownloadRequestOptions, type ExpectedDigest, isWritableStream } from './request.js';
export { type SettledStreamHooks, settledStream } from './settled-stream.js';
export { type TlsMaterial, loadTlsMaterial } from './tls.js';
export { version } from './version.js';
