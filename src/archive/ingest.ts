import { randomBytes } from 'node:crypto';
import type { Store, Writer } from '../content/index.js';
import { openWriter } from '../content/index.js';
import { fail, isCode } from '../errors.js';
import type { LayerTap } from '../fetch/index.js';
import type { Digest } from '../oci/index.js';
import type { ProgressEvent, ProgressPhase } from '../progress.js';

/**
 * Storing one archive member in the content store as its bytes stream by. A member whose
 * digest is known (`blobs/sha256/<hex>`) is ingested under that digest as the ref, the ref
 * a pull uses too, so an interrupted import resumes where it stopped (the bytes already in
 * the ingest are skipped, the commit verifies them all) and a blob already stored is not
 * written again. A member whose digest is not known (docker-save layers and configs) is
 * hashed as it is written and committed under the digest found.
 */
export interface MemberIngest {
  write(chunk: Uint8Array): Promise<void>;
  /** Verifies size (and digest when known), commits, returns the digest. */
  commit(): Promise<Digest>;
  /** Releases the ingest; after a failure, `err` goes to the tap. Idempotent. */
  close(err?: unknown): Promise<void>;
}

export interface IngestContext {
  readonly content: Store;
  readonly signal?: AbortSignal;
  readonly emit: (event: ProgressEvent) => void;
}

const PROGRESS_INTERVAL_MS = 100;

/**
 * Opens the ingest of a member that must hash to `digest`, or 'exists' when the blob is
 * already stored. `tap` is asked for a tap only when the ingest starts from zero.
 */
export async function openBlobIngest(
  ctx: IngestContext,
  digest: Digest,
  size: number,
  member: string,
  archive: string,
  tap?: () => LayerTap | undefined,
): Promise<MemberIngest | 'exists'> {
  let writer: Writer;
  try {
    writer = await openWriter(ctx.content, {
      ref: digest,
      expected: digest,
      total: size,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
  } catch (err) {
    if (isCode(err, 'AlreadyExists')) {
      ctx.emit({ phase: 'exists', id: digest, kind: 'blob', done: size, total: size });
      return 'exists';
    }
    throw err;
  }
  if (writer.offset > size) await writer.truncate(0);
  const tapped = writer.offset === 0 ? tap?.() : undefined;
  return new Ingest(ctx, writer, member, archive, size, digest, tapped);
}

/** Opens the ingest of a member whose digest is found by hashing it. */
export async function openMemberIngest(
  ctx: IngestContext,
  size: number,
  member: string,
  archive: string,
): Promise<MemberIngest> {
  const ref = `import-${randomBytes(12).toString('hex')}`;
  const writer = await openWriter(ctx.content, {
    ref,
    total: size,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  return new Ingest(ctx, writer, member, archive, size, undefined, undefined);
}

class Ingest implements MemberIngest {
  private skip: number;
  private seen = 0;
  private last = 0;
  private done = false;
  private closed = false;

  constructor(
    private readonly ctx: IngestContext,
    private readonly writer: Writer,
    private readonly member: string,
    private readonly archive: string,
    private readonly size: number,
    private readonly expected: Digest | undefined,
    private readonly tap: LayerTap | undefined,
  ) {
    this.skip = writer.offset;
  }

  private get id(): string {
    return this.expected ?? this.member;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.seen += chunk.byteLength;
    let bytes = chunk;
    if (this.skip > 0) {
      // Already in the ingest from an interrupted run: verified with the rest at commit.
      const n = Math.min(this.skip, bytes.byteLength);
      this.skip -= n;
      bytes = bytes.subarray(n);
      if (bytes.byteLength === 0) return;
    }
    if (this.tap) await Promise.all([this.writer.write(bytes), this.tap.write(bytes)]);
    else await this.writer.write(bytes);
    const now = Date.now();
    if (now - this.last >= PROGRESS_INTERVAL_MS) {
      this.last = now;
      this.emit('importing', this.seen);
    }
  }

  async commit(): Promise<Digest> {
    const digest = this.writer.digest();
    if (this.expected !== undefined && digest !== this.expected) {
      throw fail(
        'FailedPrecondition',
        `${this.archive}: member ${this.member}: digest mismatch: got ${digest}, want ${this.expected}`,
      );
    }
    try {
      await this.writer.commit({
        size: this.size,
        ...(this.expected ? { expected: this.expected } : {}),
      });
    } catch (err) {
      if (!isCode(err, 'AlreadyExists')) throw this.named(err);
    }
    this.done = true;
    this.tap?.end();
    this.emit('done', this.size);
    return this.expected ?? digest;
  }

  async close(err?: unknown): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.done) this.tap?.fail(err ?? fail('Aborted', `${this.member}: import stopped`));
    await this.writer.close();
    // A member with no known digest cannot be resumed; wrong bytes must not be resumed from.
    const wrong = isCode(err, 'FailedPrecondition');
    if (!this.done && (this.expected === undefined || wrong)) {
      await this.ctx.content.abort(this.writer.ref).catch(() => {});
    }
  }

  private named(err: unknown): unknown {
    if (!isCode(err)) return err;
    return fail(err.code, `${this.archive}: member ${this.member}: ${err.message}`, err);
  }

  private emit(phase: ProgressPhase, done: number): void {
    this.ctx.emit({ phase, id: this.id, kind: 'blob', done, total: this.size });
  }
}
