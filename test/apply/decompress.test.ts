import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decompress, detectCompression } from '../../src/apply/index.js';
import { zstdImplementations } from '../../src/apply/zstd.js';
import { isCode } from '../../src/errors.js';
import { missing, skipNote } from '../fixtures/env.js';
import { zstd } from '../fixtures/tar-builder.js';
import { chunked } from './helpers.js';

async function collect(readable: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of readable) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

async function failure(readable: AsyncIterable<Uint8Array>): Promise<unknown> {
  try {
    await collect(readable);
  } catch (err) {
    return err;
  }
  throw new Error('expected the stream to fail');
}

// Half random (incompressible), half repetitive: several MB through every stage.
const payload = Buffer.concat([randomBytes(3 << 20), Buffer.alloc(3 << 20, 'strata ')]);
const noZstd = missing({ commands: ['zstd'] });

describe('decompress', () => {
  it('detects compression by magic bytes', () => {
    expect(detectCompression(gzipSync('x'))).toBe('gzip');
    expect(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0]))).toBe('zstd');
    expect(detectCompression(Buffer.from([0x50, 0x2a, 0x4d, 0x18]))).toBe('zstd');
    expect(detectCompression(Buffer.from('etc/passwd\0'))).toBe('none');
    expect(detectCompression(Buffer.alloc(0))).toBe('none');
    expect(() => detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0]))).toThrow(/xz/);
  });

  it('passes an uncompressed stream through, including an empty one', async () => {
    expect((await collect(decompress(chunked(payload, 1000)))).equals(payload)).toBe(true);
    expect(await collect(decompress(chunked(Buffer.alloc(0))))).toEqual(Buffer.alloc(0));
    expect(await collect(decompress(chunked(Buffer.from('ab'))))).toEqual(Buffer.from('ab'));
  });

  it('gunzips, multi-member streams included, with a 1-byte first chunk', async () => {
    const gz = Buffer.concat([gzipSync(payload.subarray(0, 100)), gzipSync(payload.subarray(100))]);
    async function* oddly() {
      yield gz.subarray(0, 1);
      yield* chunked(gz.subarray(1), 65_537);
    }
    expect((await collect(decompress(oddly()))).equals(payload)).toBe(true);
  });

  it('fails corrupt gzip with InvalidArgument', async () => {
    const gz = gzipSync(payload);
    gz.fill(0x55, gz.length >> 1, (gz.length >> 1) + 100);
    expect(isCode(await failure(decompress(chunked(gz))), 'InvalidArgument')).toBe(true);
    const truncated = gzipSync(payload).subarray(0, 100_000);
    expect(isCode(await failure(decompress(chunked(truncated))), 'InvalidArgument')).toBe(true);
  });

  describe.skipIf(noZstd)(`zstd${skipNote(noZstd)}`, () => {
    const zst = noZstd ? Buffer.alloc(0) : zstd(payload);
    const multi = noZstd
      ? Buffer.alloc(0)
      : Buffer.concat([zstd(payload.subarray(0, 5)), zstd(payload.subarray(5))]);

    it.each(zstdImplementations())('decompresses with %s, multi-frame too', async (impl) => {
      const one = await collect(decompress(chunked(zst, 100_003), { zstd: impl }));
      expect(one.equals(payload)).toBe(true);
      const two = await collect(decompress(chunked(multi), { zstd: impl }));
      expect(two.equals(payload)).toBe(true);
    });

    it.each(zstdImplementations())('fails truncated zstd with %s', async (impl) => {
      const truncated = zst.subarray(0, zst.length - 1000);
      const err = await failure(decompress(chunked(truncated), { zstd: impl }));
      expect(isCode(err, 'InvalidArgument'), String(err)).toBe(true);
    });

    // fzstd (the pure-JS fallback) does not check frame checksums: there, corruption that
    // keeps the frame structure is caught by the diffID instead (see apply-layer tests).
    it.each(zstdImplementations().filter((i) => i !== 'js'))(
      'fails corrupt zstd with %s (frame checksum)',
      async (impl) => {
        const corrupt = Buffer.from(zst);
        corrupt.fill(0x55, 1000, 3000);
        const err = await failure(decompress(chunked(corrupt), { zstd: impl }));
        expect(isCode(err, 'InvalidArgument'), String(err)).toBe(true);
      },
    );

    it('offers the CLI and the JS fallback on this machine', () => {
      expect(zstdImplementations()).toEqual(expect.arrayContaining(['cli', 'js']));
    });
  });

  it('stops with Aborted when the signal fires, and releases the source', async () => {
    const controller = new AbortController();
    let released = false;
    async function* endless() {
      try {
        for (;;) {
          yield Buffer.alloc(65536, 1);
          await new Promise((r) => setTimeout(r, 1));
        }
      } finally {
        released = true;
      }
    }
    const stream = decompress(endless(), { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    expect(isCode(await failure(stream), 'Aborted')).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(released).toBe(true);
  });
});
