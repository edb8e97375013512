/**
 * The worker side of the apply pool: runs `applyLayer` for one layer at a time, fed with
 * chunks posted by the main thread. Each chunk handed to the applier is acknowledged, which
 * is the main thread's credit for sending more (backpressure across the thread boundary).
 */
import { parentPort } from 'node:worker_threads';
import { fail, isCode } from '../errors.js';
import { applyLayer } from './apply-layer.js';
import type { FromWorker, ToWorker } from './pool-protocol.js';

const port = parentPort;
if (!port) throw new Error('apply-worker: must run in a worker thread');

const post = (message: FromWorker) => port.postMessage(message);

interface Job {
  readonly chunks: Uint8Array[];
  ended: boolean;
  /** Set on abort: the source fails with it, so nothing reads a cut stream as truncated. */
  aborted: Error | undefined;
  wake: (() => void) | undefined;
  readonly controller: AbortController;
}

let job: Job | undefined;

async function* chunksOf(current: Job): AsyncGenerator<Uint8Array> {
  for (;;) {
    if (current.aborted) throw current.aborted;
    const chunk = current.chunks.shift();
    if (chunk !== undefined) {
      post({ type: 'ack', bytes: chunk.byteLength });
      yield chunk;
      continue;
    }
    if (current.ended) return;
    await new Promise<void>((resolve) => {
      current.wake = resolve;
    });
    current.wake = undefined;
  }
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'start': {
      const current: Job = {
        chunks: [],
        ended: false,
        aborted: undefined,
        wake: undefined,
        controller: new AbortController(),
      };
      job = current;
      applyLayer(chunksOf(current), message.target, {
        ...message.options,
        signal: current.controller.signal,
        onWarning: (text) => post({ type: 'warning', message: text }),
        onProgress: (p) => post({ type: 'progress', entries: p.entries, bytes: p.bytes }),
      }).then(
        (result) => post({ type: 'done', result }),
        (err: unknown) =>
          post({
            type: 'error',
            code: isCode(err) ? err.code : 'Internal',
            message: err instanceof Error ? err.message : String(err),
          }),
      );
      return;
    }
    case 'chunk':
      job?.chunks.push(message.data);
      job?.wake?.();
      return;
    case 'end':
      if (job) job.ended = true;
      job?.wake?.();
      return;
    case 'abort': {
      if (!job) return;
      const reason = fail('Aborted', message.reason);
      job.aborted = reason;
      job.controller.abort(reason);
      job.wake?.();
      return;
    }
  }
});
