import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { abortError, fail, throwIfAborted } from '../errors.js';
import { limitMallocArenas } from '../sys/index.js';
import { applyLayer } from './apply-layer.js';
import type { LayerSource } from './decompress.js';
import type { FromWorker, ToWorker, WorkerApplyOptions } from './pool-protocol.js';
import type { ApplyOptions, ApplyResult } from './types.js';

/**
 * Applies layers in worker threads. Applying is CPU-bound JavaScript (tar parsing, hashing)
 * plus synchronous filesystem calls; in a worker it runs beside the main thread (which
 * keeps the network, the compressed digest and the content store) and beside other layers.
 * Chunks are copied to the worker with bounded credit, so memory stays bounded whatever
 * the layer size. Without a built worker script (running from TypeScript sources) or with
 * `size: 0`, layers are applied on the calling thread.
 */
export interface ApplyPool {
  /** False when layers are applied on the calling thread (no built worker, or size 0). */
  readonly threads: boolean;
  /** `applyLayer` in a worker thread: same arguments, results and errors. */
  apply(source: LayerSource, target: string, options: ApplyOptions): Promise<ApplyResult>;
  /** Terminates the workers; jobs still running fail. */
  close(): Promise<void>;
}

/** Bytes posted to a worker and not yet handed to its applier. */
const MAX_IN_FLIGHT = 2 * 1024 * 1024;
/**
 * Chunks are coalesced to at least this size before crossing to a worker: network chunks
 * are ~16-64 KiB, and a message per chunk each way cost more than the copy (measured).
 */
const BATCH_BYTES = 256 * 1024;

export function createApplyPool(options: { size?: number } = {}): ApplyPool {
  const size = options.size ?? Math.max(1, availableParallelism());
  const url = size > 0 ? workerUrl() : undefined;
  if (url === undefined) {
    return {
      threads: false,
      apply: (source, target, o) => applyLayer(source, target, o),
      close: async () => {},
    };
  }
  limitMallocArenas(1);
  const idle: Worker[] = [];
  const all = new Set<Worker>();
  const waiting: ((w: Worker) => void)[] = [];
  const spawn = (): Worker => {
    const w = new Worker(url);
    all.add(w);
    w.once('exit', () => all.delete(w));
    return w;
  };
  // Started now, so that loading their modules overlaps the resolve on the main thread.
  for (let i = 0; i < size; i++) {
    const w = spawn();
    w.unref();
    idle.push(w);
  }

  const acquire = async (): Promise<Worker> => {
    const ready = idle.pop();
    if (ready) return ready;
    if (all.size < size) return spawn();
    return new Promise((resolve) => waiting.push(resolve));
  };
  const release = (w: Worker, healthy: boolean) => {
    if (!healthy) {
      all.delete(w);
      void w.terminate();
      return;
    }
    const next = waiting.shift();
    if (next) next(w);
    else {
      w.unref();
      idle.push(w);
    }
  };

  return {
    threads: true,
    async apply(source, target, o) {
      throwIfAborted(o.signal);
      const w = await acquire();
      w.ref();
      let healthy = true;
      try {
        return await runJob(w, source, target, o);
      } catch (err) {
        healthy = !(err instanceof WorkerCrash);
        throw err instanceof WorkerCrash ? err.error : err;
      } finally {
        release(w, healthy);
      }
    },
    async close() {
      await Promise.all([...all].map((w) => w.terminate()));
      all.clear();
      idle.length = 0;
    },
  };
}

class WorkerCrash extends Error {
  constructor(readonly error: Error) {
    super(error.message);
  }
}

function runJob(
  w: Worker,
  source: LayerSource,
  target: string,
  o: ApplyOptions,
): Promise<ApplyResult> {
  return new Promise<ApplyResult>((resolve, reject) => {
    let inFlight = 0;
    let credit: (() => void) | undefined;
    let finished = false;
    let sourceError: unknown;
    const post = (m: ToWorker, transfer?: ArrayBuffer[]) => w.postMessage(m, transfer);
    const finish = (settle: () => void) => {
      if (finished) return;
      finished = true;
      w.off('message', onMessage);
      w.off('error', onError);
      o.signal?.removeEventListener('abort', onAbort);
      credit?.();
      settle();
    };
    const onMessage = (m: FromWorker) => {
      switch (m.type) {
        case 'ack':
          inFlight -= m.bytes;
          if (inFlight <= MAX_IN_FLIGHT) credit?.();
          return;
        case 'progress':
          o.onProgress?.({ entries: m.entries, bytes: m.bytes });
          return;
        case 'warning':
          o.onWarning?.(m.message);
          return;
        case 'done':
          finish(() => resolve(m.result));
          return;
        case 'error': {
          // An abort may surface in the worker as another error (a cut stream): say Aborted.
          const err =
            sourceError ?? (o.signal?.aborted ? abortError(o.signal) : fail(m.code, m.message));
          finish(() => reject(err));
          return;
        }
      }
    };
    const onError = (err: Error) =>
      finish(() => reject(new WorkerCrash(fail('Internal', `apply worker: ${err.message}`, err))));
    const onAbort = () => post({ type: 'abort', reason: 'aborted' });
    w.on('message', onMessage);
    w.on('error', onError);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    post({ type: 'start', target, options: workerOptions(o) });
    void pump();

    async function pump(): Promise<void> {
      const chunks = source instanceof Readable ? source : (source as AsyncIterable<Uint8Array>);
      let batch: Uint8Array[] = [];
      let batched = 0;
      const flush = async () => {
        if (batched === 0) return;
        const data = new Uint8Array(batched);
        let at = 0;
        for (const c of batch) {
          data.set(c, at);
          at += c.byteLength;
        }
        batch = [];
        batched = 0;
        inFlight += data.byteLength;
        post({ type: 'chunk', data }, [data.buffer]);
        while (inFlight > MAX_IN_FLIGHT && !finished) {
          await new Promise<void>((r) => {
            credit = r;
          });
          credit = undefined;
        }
      };
      try {
        for await (const chunk of chunks as AsyncIterable<Uint8Array>) {
          if (finished) break;
          batch.push(chunk);
          batched += chunk.byteLength;
          if (batched >= BATCH_BYTES) await flush();
        }
        await flush();
        if (!finished) post({ type: 'end' });
      } catch (err) {
        // The source failed (a cut download): stop the worker's apply, report the cause.
        sourceError = err;
        if (!finished)
          post({ type: 'abort', reason: err instanceof Error ? err.message : String(err) });
      }
    }
  });
}

function workerOptions(o: ApplyOptions): WorkerApplyOptions {
  return {
    whiteouts: o.whiteouts,
    ...(o.rootless === undefined ? {} : { rootless: o.rootless }),
    ...(o.subject === undefined ? {} : { subject: o.subject }),
    ...(o.expectedDiffId === undefined ? {} : { expectedDiffId: o.expectedDiffId }),
    ...(o.parents === undefined ? {} : { parents: o.parents }),
    ...(o.zstd === undefined ? {} : { zstd: o.zstd }),
  };
}

/**
 * The compiled worker script next to this module, or — when running from TypeScript
 * sources, as the tests do — the one in `dist/` if it is built.
 */
function workerUrl(): URL | undefined {
  const here = new URL('./apply-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const built = new URL('../../dist/src/apply/apply-worker.js', import.meta.url);
  return existsSync(fileURLToPath(built)) ? built : undefined;
}
