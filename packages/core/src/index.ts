/**
 * @nectar/core for users: requests, reports, config, the downloader API, events, the registry
 * and errors. Implementors of a backend import `@nectar/core/backend`; HTTP backends also
 * `@nectar/core/http`.
 */
export { type Capability, type Supports, capabilities } from './capabilities.js';
export type { AfterHeadersDecision, AfterHeadersHook, ArrivedHeaders } from './engine/after-headers.js';
export { DownloaderConfig, type DownloaderConfigInput, type DownloaderConfigOptions, defaults } from './config.js';
export { type DownloadOptions, Downloader, type RequestLike, type RequestSource } from './engine/downloader.js';
export { type NectarErrorCode, NectarArgumentError, NectarError, isNectarError } from './errors.js';
export type { DownloadEvent, DownloadEventListener } from './engine/events.js';
export type { HostLimitSettings, HostSlowdown, LimitChanges } from './limits/per-host.js';
export { redactText, redactUrl, secretQueryParams } from './redact.js';
export { type BackendModule, type DownloaderFactory, DownloaderRegistry, type RegistryOptions, defaultRegistry, knownBackends } from './engine/registry.js';
export { type DownloadOutcome, DownloadReport, type DownloadReportJSON, type DownloadState, type ErrorReport, terminalStates } from './report.js';
export { type Destination, DownloadRequest, type DownloadRequestJSON, type DownloadRequestOptions, type ExpectedDigest } from './request.js';
export { SqliteStateStore } from './state/sqlite-store.js';
export { type StateRecord, type StateStore, digestKey } from './state/store.js';
export type { VerifyUnchanged } from './state/resync.js';
export { version } from './version.js';
