import { once } from 'node:events';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Header, pack } from 'tar-stream';
import { abortError, fail } from '../errors.js';

/**
 * Writes a tar stream member by member with tar-stream's `pack`: each member's bytes are
 * pumped from their source (a content store reader, a decompressor) into the archive with
 * back-pressure, so nothing larger than a chunk is held. Members get fixed owners, modes
 * and times (the epoch), so exporting the same images twice gives the same bytes.
 */
export interface TarWriter {
  directory(name: string): Promise<void>;
  /** A regular member of `size` bytes; the archive fails if the body has another size. */
  file(name: string, size: number, body: Uint8Array | AsyncIterable<Uint8Array>): Promise<void>;
  /** Writes the end-of-archive marker and waits for the destination to take everything. */
  finish(): Promise<void>;
  /** Stops writing: the destination is destroyed with `err`. */
  destroy(err: unknown): void;
}

const EPOCH = new Date(0);

type EntryHeader = Partial<Header> & Pick<Header, 'name'>;

/** tar-stream's entry sink (a streamx Writable): the parts used here. */
interface EntrySink {
  write(chunk: Uint8Array): boolean;
  end(): void;
  destroy(err?: Error): void;
  once(event: string, fn: (...args: unknown[]) => void): unknown;
}

export function createTarWriter(out: Writable, signal?: AbortSignal): TarWriter {
  const archive = pack();
  // tar-stream streams are streamx streams: adapted to Node's through async iteration.
  const piped = pipeline(Readable.from(archive), out, signal ? { signal } : {});
  let failure: unknown;
  const failed = piped.then(
    () => new Promise<never>(() => {}),
    (err: unknown) => {
      failure = signal?.aborted ? abortError(signal) : err;
      return Promise.reject(failure);
    },
  );
  failed.catch(() => {});
  const entry = async (header: EntryHeader, body?: AsyncIterable<Uint8Array>): Promise<void> => {
    // The destination failed (a full disk, a closed pipe): tar-stream is destroyed and
    // would throw on a new entry; the destination's error is the one to report.
    if (failure !== undefined) throw failure;
    let sink: EntrySink | undefined;
    const done = new Promise<void>((resolve, reject) => {
      sink = archive.entry(header, (err) =>
        err ? reject(err) : resolve(),
      ) as unknown as EntrySink;
    });
    done.catch(() => {}); // awaited below unless the pump fails first
    await Promise.race([pump(sink!, body, header.size ?? 0), failed]);
    await Promise.race([done, failed]);
  };
  return {
    directory: (name) => entry({ name: `${name}/`, type: 'directory', mode: 0o755, mtime: EPOCH }),
    file(name, size, body) {
      const source = body instanceof Uint8Array ? [body] : body;
      return entry(
        { name, type: 'file', size, mode: 0o644, mtime: EPOCH, uid: 0, gid: 0 },
        toAsync(source),
      );
    },
    async finish() {
      archive.finalize();
      await piped.catch((err: unknown) => {
        throw signal?.aborted ? abortError(signal) : err;
      });
    },
    destroy(err) {
      archive.destroy(err instanceof Error ? err : new Error(String(err)));
      out.destroy(err instanceof Error ? err : new Error(String(err)));
    },
  };
}

async function pump(
  sink: EntrySink,
  body: AsyncIterable<Uint8Array> | undefined,
  size: number,
): Promise<void> {
  if (body === undefined) return; // a directory: tar-stream ends it itself
  let written = 0;
  try {
    for await (const chunk of body) {
      written += chunk.byteLength;
      if (written > size) break;
      if (!sink.write(chunk)) await once(sink as never, 'drain');
    }
    if (written !== size) {
      throw fail('Internal', `tar member ${size} bytes long got ${written} bytes`);
    }
    sink.end();
  } catch (err) {
    sink.destroy(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
}

async function* toAsync(
  source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  yield* source;
}
