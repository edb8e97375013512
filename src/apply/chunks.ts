import type { Readable } from 'node:stream';
import { fail } from '../errors.js';

/**
 * The chunks of a Readable, one by one, as they were pushed. Unlike the Readable's own
 * async iterator, which `read()`s everything buffered at once and so concatenates (copies)
 * the chunks whenever the consumer falls behind, this never copies. Back-pressure: the
 * stream is paused while `highWaterMark` bytes wait. Returning early destroys the stream.
 */
export async function* chunksOf(
  stream: Readable,
  highWaterMark = 2 * 1024 * 1024,
): AsyncGenerator<Uint8Array, void, undefined> {
  const queue: Uint8Array[] = [];
  let head = 0;
  let queued = 0;
  let ended = false;
  let error: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  const onData = (chunk: Uint8Array) => {
    queue.push(chunk);
    queued += chunk.length;
    if (queued >= highWaterMark) stream.pause();
    notify();
  };
  const onEnd = () => {
    ended = true;
    notify();
  };
  const onError = (err: unknown) => {
    error ??= err;
    notify();
  };
  const onClose = () => {
    if (!ended) error ??= fail('Internal', 'stream closed before its end');
    notify();
  };
  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('error', onError);
  stream.on('close', onClose);
  try {
    for (;;) {
      if (head < queue.length) {
        const chunk = queue[head] as Uint8Array;
        queue[head++] = EMPTY;
        if (head > 1024) {
          queue.splice(0, head);
          head = 0;
        }
        queued -= chunk.length;
        if (queued < highWaterMark / 2 && stream.isPaused()) stream.resume();
        yield chunk;
        continue;
      }
      if (error !== undefined) throw error;
      if (ended) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('error', onError);
    stream.off('close', onClose);
    if (!ended) stream.destroy();
  }
}

const EMPTY = new Uint8Array(0);
