import { setTimeout as sleep } from 'node:timers/promises';
import { fail, isCode, throwIfAborted } from '../errors.js';
import type { Digest } from '../oci/index.js';
import type { Ingester, Provider, Writer, WriterOptions } from './types.js';

/**
 * Opens a writer, waiting with backoff while another writer (maybe another process) holds
 * the ref, up to `timeoutMs` (default 5 min). AlreadyExists passes through: the caller is done.
 */
export async function openWriter(
  ingester: Ingester,
  options: WriterOptions & { readonly timeoutMs?: number },
): Promise<Writer> {
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  for (let delay = 10; ; delay = Math.min(delay * 2, 1000)) {
    throwIfAborted(options.signal);
    try {
      return await ingester.writer(options);
    } catch (err) {
      if (!isCode(err, 'Unavailable') || Date.now() + delay > deadline) throw err;
    }
    await sleep(delay, undefined, options.signal ? { signal: options.signal } : {}).catch(() => {});
  }
}

/**
 * Reads a whole blob into memory, refusing blobs over `maxSize` (manifests, configs and
 * other JSON; never layers).
 * @throws NotFound; ResourceExhausted when the blob is larger than maxSize; Aborted.
 */
export async function readBlob(
  provider: Provider,
  digest: Digest,
  options: { readonly maxSize: number; readonly signal?: AbortSignal },
): Promise<Buffer> {
  const signal = options.signal ? { signal: options.signal } : {};
  const { size } = await provider.info(digest, signal);
  if (size > options.maxSize) {
    throw fail(
      'ResourceExhausted',
      `content ${digest}: ${size} bytes exceeds the ${options.maxSize} byte limit`,
    );
  }
  const chunks: Buffer[] = [];
  for await (const chunk of await provider.reader(digest, signal)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Writes a whole in-memory blob (a manifest, a config) under its own digest as the ref.
 * Already-stored content counts as success.
 */
export async function writeBlob(
  ingester: Ingester,
  data: Uint8Array,
  options: {
    readonly expected: Digest;
    readonly labels?: Readonly<Record<string, string>>;
    readonly signal?: AbortSignal;
  },
): Promise<void> {
  let writer: Writer;
  try {
    writer = await openWriter(ingester, {
      ref: options.expected,
      expected: options.expected,
      total: data.byteLength,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (err) {
    if (isCode(err, 'AlreadyExists')) return;
    throw err;
  }
  try {
    await writer.truncate(0);
    await writer.write(data);
    await writer.commit({
      size: data.byteLength,
      expected: options.expected,
      ...(options.labels ? { labels: options.labels } : {}),
    });
  } catch (err) {
    if (!isCode(err, 'AlreadyExists')) throw err;
  } finally {
    await writer.close();
  }
}

/**
 * Copies a stream into a writer (awaiting each write, so the source is paced by the disk)
 * and returns the bytes copied. Stops with Aborted when the signal fires.
 */
export async function copyToWriter(
  source: AsyncIterable<Uint8Array>,
  writer: Writer,
  signal?: AbortSignal,
): Promise<number> {
  let copied = 0;
  for await (const chunk of source) {
    throwIfAborted(signal);
    await writer.write(chunk);
    copied += chunk.byteLength;
  }
  return copied;
}
