import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { undecodableError } from '@nectar/core/http';

const decoders: Readonly<Record<string, () => Transform>> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * The transforms that undo `codings` (listed in the order they were applied), for
 * `config.decompress`. Only the codings we asked for in Accept-Encoding are known; any other
 * fails the request rather than writing bytes nobody can read.
 */
export function contentDecoders(codings: readonly string[], url: URL): Transform[] {
  return [...codings].reverse().map((coding) => {
    const decoder = decoders[coding];
    if (decoder === undefined) throw undecodableError(url, coding);
    return decoder();
  });
}
