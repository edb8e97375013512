import { createTarReader, decompress, type LayerSource, type TarEntry } from '../apply/index.js';
import { fail, isCode, throwIfAborted } from '../errors.js';
import { cleanMemberName, symlinkTarget } from './member-name.js';

/**
 * Reads a tar archive (plain, gzip or zstd, told apart by magic bytes) in one pass,
 * handing each regular member's bytes to an async sink in order. strata's tar reader is a
 * synchronous push parser: the data it hands out for one pushed chunk is queued and the
 * queue drained (awaiting the sinks) before the next chunk is pushed, so a slow sink slows
 * the reading and memory stays at one chunk. Names are cleaned and checked before a handler
 * sees them; an archive must end with the end-of-archive marker (a cut archive is an error
 * even when it was cut between two members).
 */
export interface MemberSink {
  write(chunk: Uint8Array): Promise<void>;
  end(): Promise<void>;
  /** The archive failed while this member was open. */
  abort(err: unknown): Promise<void>;
}

export interface TarMemberHandler {
  /** A regular member: a sink for its bytes, or undefined to skip them. */
  file(name: string, size: number): Promise<MemberSink | undefined>;
  /** A symlink or hard link `name` -> `target` (both clean, inside the archive). */
  link(name: string, target: string): void;
}

export interface ReadTarOptions {
  /** Names the archive in messages. */
  readonly archive: string;
  readonly signal?: AbortSignal;
  /** Bytes of the archive (as stored, before decompression) read so far. */
  readonly onBytes?: (read: number) => void;
}

type Event =
  | { readonly kind: 'begin'; readonly name: string; readonly size: number }
  | { readonly kind: 'data'; readonly bytes: Uint8Array }
  | { readonly kind: 'end' };

/**
 * Reads every member of the archive in `source`.
 * @throws InvalidArgument for a corrupt, truncated or malicious archive (naming it);
 *   whatever the handler throws; Aborted.
 */
export async function readTarArchive(
  source: LayerSource,
  handler: TarMemberHandler,
  options: ReadTarOptions,
): Promise<void> {
  const { archive } = options;
  const events: Event[] = [];
  const reader = createTarReader((entry) => onEntry(entry, handler, events, archive));
  let sink: MemberSink | undefined;
  let skipping = false;
  const drain = async () => {
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (e.kind === 'begin') {
        sink = await handler.file(e.name, e.size);
        skipping = sink === undefined;
      } else if (e.kind === 'data') {
        if (!skipping) await sink!.write(e.bytes);
      } else {
        const done = sink;
        sink = undefined;
        skipping = false;
        await done?.end();
      }
    }
    events.length = 0;
  };
  try {
    const input = decompress(counted(source, options.onBytes), {
      ...(options.signal ? { signal: options.signal } : {}),
    });
    for await (const chunk of input) {
      throwIfAborted(options.signal);
      if (reader.done) continue; // bytes after the end-of-archive marker (record padding)
      reader.push(chunk as Uint8Array);
      await drain();
    }
    if (!reader.done) {
      reader.end(); // throws when cut inside a header or a member
      throw fail('InvalidArgument', `${archive}: truncated: no end-of-archive marker`);
    }
    await drain();
  } catch (err) {
    const named = nameArchive(err, archive);
    await sink?.abort(named);
    throw named;
  }
}

function onEntry(entry: TarEntry, handler: TarMemberHandler, events: Event[], archive: string) {
  const name = cleanMemberName(entry.name, archive);
  switch (entry.type) {
    case 'file':
      if (name === '') throw fail('InvalidArgument', `${archive}: a file member without a name`);
      events.push({ kind: 'begin', name, size: entry.size });
      return {
        write: (bytes: Uint8Array) => void events.push({ kind: 'data', bytes }),
        end: () => void events.push({ kind: 'end' }),
      };
    case 'symlink':
      handler.link(name, symlinkTarget(name, entry.linkname, archive));
      return undefined;
    case 'link':
      // A hard link names its target from the archive's root.
      handler.link(name, cleanMemberName(entry.linkname, archive));
      return undefined;
    default:
      return undefined; // directories; devices and fifos mean nothing in an image archive
  }
}

/** Errors from the reader and the decompressor name the archive. */
function nameArchive(err: unknown, archive: string): unknown {
  if (!isCode(err, 'InvalidArgument') || err.message.startsWith(`${archive}:`)) return err;
  const message = err.message.replace(/^layer: /, '');
  return fail('InvalidArgument', `${archive}: ${message}`, err);
}

async function* counted(
  source: LayerSource,
  onBytes: ((read: number) => void) | undefined,
): AsyncGenerator<Uint8Array> {
  let read = 0;
  for await (const chunk of source as AsyncIterable<Uint8Array>) {
    read += chunk.byteLength;
    onBytes?.(read);
    yield chunk;
  }
}
