/**
 * @nectar/core/backend, for implementors: everything a user sees, plus the engine's hooks, the
 * backend object, the job a transfer gets, the output writers and the helpers that keep one
 * owner per rule (errors, part files, limits, secrets, reading request sources).
 */
export * from './index.js';
export { type UsedCapability, fieldApplies, supportsAll, usedCapabilities } from './capabilities.js';
export { type ResolvedConfig, withDefaults } from './config.js';
export { type Backend, type BackendEnv, type SharedLimits, withTransfer } from './engine/backend.js';
export { ComposedDownloader, type RequestRun } from './engine/downloader.js';
export { emit } from './engine/events.js';
export type { BodyOutput, ByteRange, TransferJob, TransferResponse } from './engine/job.js';
export { minSegmentBytes, planRanges } from './engine/segments.js';
export { closeSource, iterate, untilAborted } from './engine/request-source.js';
export { retryDelay, type RetrySettings, worthAMirror } from './engine/retry-policy.js';
export { type SettledStreamHooks, settledStream } from './engine/settled-stream.js';
export { type ErrorCodeClass, type NectarErrorOptions, classifyErrorCode, errorCodeOf, toNectarError } from './errors.js';
export { ConcurrencyLimit } from './limits/concurrency.js';
export { SpeedLimiter, sharedClock, waitFor } from './limits/speed.js';
export { AdaptiveLimit, type BackoffSettings, type Slowdown } from './limits/backoff.js';
export { type AttemptBudgets, attemptThrottle } from './limits/attempt-budgets.js';
export { type ByteThrottle, CombinedThrottle } from './limits/byte-throttle.js';
export { HostLimits, HostPass, hostLimitSettings, limitChanges } from './limits/per-host.js';
export { RequestGate } from './limits/request-gate.js';
export { BytesInFlight } from './limits/bytes-in-flight.js';
export {
  AtomicFile,
  type DestinationWriter,
  type FileIdentity,
  StreamDestination,
  destinationError,
  holdDestination,
  isPartFileName,
  openPartFile,
  openPartFileSync,
  partPath,
  sidecarPath,
  syncFolder,
} from './output/destination.js';
export { lockPath } from './output/part-owner.js';
export { PartWriter, type PartWriterOptions, writeAt } from './output/part-writer.js';
export { ChunkWritable } from './output/sink.js';
export { Redactor, fragmentParams, headerSecrets, urlSecrets } from './redact.js';
export { isWritableStream } from './request.js';
export { type TlsMaterial, loadTlsMaterial } from './tls/material.js';
export { type ProxySettings, proxyFromConfig } from './http/proxy.js';
