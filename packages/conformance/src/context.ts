import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Capability, type Downloader, DownloaderConfig, type DownloaderConfigInput, type DownloadEventListener, type Supports } from '@nectar/core';
import type { ConformanceFixture } from './fixtures/types.js';
import { EventRecorder } from './recorder.js';

export type DownloaderFactory = (config: DownloaderConfig, listener?: DownloadEventListener) => Downloader;

export interface ConformanceOptions {
  /** Shown in the test names. */
  name: string;
  /** Called afresh for every case. */
  create: DownloaderFactory;
  /** The server (or folder) the downloader fetches from. */
  fixture: ConformanceFixture;
  /**
   * Config merged into every case's config: mostly your backend's own fields (the host-key
   * settings an SFTP backend needs), so any key is accepted here; core's fields keep their types,
   * and a near miss of one still draws core's NECTAR_CONFIG_NEAR_MISS warning at run time.
   */
  config?: DownloaderConfigInput & Readonly<Record<string, unknown>>;
}

export interface Published {
  url: string;
  body: Buffer;
  name: string;
}

/**
 * What each case file receives: the options, the capabilities read from the downloader, and
 * helpers that clean up after every case (downloaders closed, temp folders removed).
 */
export class SuiteContext {
  readonly options: ConformanceOptions;
  readonly supports: Supports;
  readonly #downloaders: Downloader[] = [];
  readonly #folders: string[] = [];
  #counter = 0;

  constructor(options: ConformanceOptions) {
    this.options = options;
    const probe = options.create(new DownloaderConfig(options.config ?? {}));
    this.supports = { ...probe.supports };
    void probe.close();
  }

  get fixture(): ConformanceFixture {
    return this.options.fixture;
  }

  has(capability: Capability): boolean {
    return this.supports[capability];
  }

  /** A downloader for this case, closed after it. */
  downloader(config: DownloaderConfigInput = {}, listener: DownloadEventListener = new EventRecorder()): Downloader {
    const downloader = this.options.create(new DownloaderConfig({ retries: 0, ...this.options.config, ...config }), listener);
    this.#downloaders.push(downloader);
    return downloader;
  }

  /** A recorder and a downloader that reports to it. */
  recorded(config: DownloaderConfigInput = {}): { downloader: Downloader; events: EventRecorder } {
    const events = new EventRecorder();
    return { downloader: this.downloader(config, events), events };
  }

  /** An empty folder for this case's destinations. */
  async folder(): Promise<string> {
    const folder = await mkdtemp(join(tmpdir(), 'nectar-conformance-'));
    this.#folders.push(folder);
    return folder;
  }

  /** Publishes `size` random bytes under a fresh name. */
  async publish(size: number, name = `file-${++this.#counter}-${size}.bin`): Promise<Published> {
    const body = randomBytes(size);
    return { url: await this.fixture.publish(name, body), body, name };
  }

  /**
   * A file whose transfer lasts about `seconds`: served slowly by the fixture, or else throttled
   * with maxSpeed. null when the backend offers neither.
   */
  async slow(size: number, seconds: number): Promise<{ file: Published; config: { maxSpeed?: number } } | null> {
    const file = await this.publish(size);
    const rate = Math.ceil(size / seconds);
    if (this.fixture.slowUrl !== undefined) return { file: { ...file, url: this.fixture.slowUrl(file.name, rate) }, config: {} };
    if (this.has('maxSpeed')) return { file, config: { maxSpeed: rate } };
    return null;
  }

  /** Files left in a folder, part files included. */
  async leftovers(folder: string): Promise<string[]> {
    return existsSync(folder) ? (await readdir(folder)).sort() : [];
  }

  async cleanup(): Promise<void> {
    const downloaders = this.#downloaders.splice(0);
    await Promise.all(downloaders.map((d) => d.close()));
    const folders = this.#folders.splice(0);
    await Promise.all(folders.map((f) => rm(f, { recursive: true, force: true })));
  }
}
