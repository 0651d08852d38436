export { type ConformanceOptions, type DownloaderFactory, type Published, SuiteContext } from './context.js';
export * from './fixtures/index.js';
export { EventRecorder, type RecordedEvent, validSequence } from './recorder.js';
export { runConformanceSuite } from './suite.js';
