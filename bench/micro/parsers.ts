import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract as tarStreamExtract } from 'tar-stream';
import { createTarReader } from '../../src/apply/index.js';

/**
 * The two tar parsers compared in part 1, doing the same work per entry: count it and
 * consume its data. strata's parser (src/apply/tar-reader.ts) is a synchronous push
 * parser handing out views of the chunks; tar-stream's `extract()` is driven through its
 * callback API (`entry` event, data stream, `next`), the fastest way to use it.
 */

export function chunks(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

export interface Parsed {
  entries: number;
  dataBytes: number;
}

/** strata's parser, data handed to a counting sink (views, no copies). */
export function parseWithStrata(tarChunks: readonly Buffer[]): Parsed {
  const parsed = { entries: 0, dataBytes: 0 };
  const sink = {
    write: (c: Uint8Array) => {
      parsed.dataBytes += c.length;
    },
    end: () => {},
  };
  const reader = createTarReader(() => {
    parsed.entries++;
    return sink;
  });
  for (const c of tarChunks) {
    if (reader.done) break;
    reader.push(c);
  }
  reader.end();
  return parsed;
}

export function count(tar: Buffer, chunkSize: number): Parsed {
  return parseWithStrata(chunks(tar, chunkSize));
}

/** tar-stream's extract with its callback API, each entry's data consumed and counted. */
export async function parseWithTarStream(tarChunks: readonly Buffer[]): Promise<Parsed> {
  const parsed = { entries: 0, dataBytes: 0 };
  const ex = tarStreamExtract();
  ex.on('entry', (_header, stream, next) => {
    parsed.entries++;
    stream.on('data', (c: unknown) => {
      parsed.dataBytes += (c as Buffer).length;
    });
    stream.on('end', next);
  });
  await pipeline(Readable.from(tarChunks), ex);
  return parsed;
}

/** Both parsers must see the layer the same way, or their speeds mean nothing. */
export function same(what: string, got: Parsed, want: Parsed): void {
  if (got.entries !== want.entries || got.dataBytes !== want.dataBytes) {
    throw new Error(
      `bench: ${what}: ${got.entries} entries / ${got.dataBytes} data bytes, want ${want.entries} / ${want.dataBytes}`,
    );
  }
}
