import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DownloadEventListener } from '@nectar/core';
import { QueueDownloader, type QueueDownloaderOptions } from '../../src/index.js';

let counter = 0;

/** A fresh farm name per test: tests share one Redis but never each other's queues. */
export function clusterName(label: string): string {
  return `t${process.pid}-${++counter}-${label}`;
}

export function producer(redis: string, cluster: string, options: Partial<QueueDownloaderOptions> = {}, listener?: DownloadEventListener, config = {}): QueueDownloader {
  return new QueueDownloader(config, listener, { redis, cluster, pollInterval: 250, ...options });
}

export async function tempFolder(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'nectar-queue-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
