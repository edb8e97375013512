/**
 * A bounded queue of byte chunks between a producer (a download writing into the content
 * store) and a consumer (a layer apply iterating it). `push` resolves once the queue holds
 * less than `highWaterMark` bytes, so a slow apply slows the download instead of filling
 * memory.
 */
export class ChunkFeed implements AsyncIterable<Uint8Array> {
  private readonly chunks: Uint8Array[] = [];
  private bytes = 0;
  private ended = false;
  private error: unknown;
  private failed = false;
  private wakeConsumer: (() => void) | undefined;
  private readonly drained: (() => void)[] = [];

  constructor(private readonly highWaterMark = 1024 * 1024) {}

  async push(chunk: Uint8Array): Promise<void> {
    this.chunks.push(chunk);
    this.bytes += chunk.byteLength;
    this.wake();
    if (this.bytes < this.highWaterMark) return;
    await new Promise<void>((resolve) => this.drained.push(resolve));
  }

  /** No more chunks: the consumer sees the end once it has read the rest. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  /** The producer failed: the consumer gets `err` once it has read what is queued. */
  fail(err: unknown): void {
    this.failed = true;
    this.error = err;
    this.wake();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk !== undefined) {
        this.bytes -= chunk.byteLength;
        if (this.bytes < this.highWaterMark)
          for (const resolve of this.drained.splice(0)) resolve();
        yield chunk;
        continue;
      }
      if (this.failed) throw this.error;
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wakeConsumer = resolve;
      });
    }
  }

  private wake(): void {
    const wake = this.wakeConsumer;
    this.wakeConsumer = undefined;
    wake?.();
  }
}
