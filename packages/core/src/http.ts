/**
 * @nectar/core/http, for HTTP backends: one reading of a final response, one redirect rule, one
 * error mapping, the resume headers and checks, the header builders and the TLS options.
 */
export { type Validators, conditionalHeaders, isConditional, responseValidators } from './http/conditional.js';
export { contentCodings, undecodableError } from './http/content-coding.js';
export { type FailureContext, type TransportCodes, failureContext, failurePlace, mapTransportFailure, transportError } from './http/failure.js';
export { type AnsweredJob, type FinalResponse, type ResponseOutcome, interpretResponse } from './http/final-response.js';
export { basicAuthorization, mergeHeaders, requestHeaders } from './http/headers.js';
export { type Hop, type HopAnswer, type RedirectJob, type RequestPermits, followRedirects } from './http/redirect-driver.js';
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
export { type SocksTunnelOptions, isSocksProxy, socksFailure, socksResolvesNames, socksTunnelOptions } from './http/socks.js';
export { proxyTlsOptions, targetTlsOptions } from './tls/connection-options.js';
