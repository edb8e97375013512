import { createReadStream, fstatSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { Info, Status, Writer } from '../../content/index.js';
import { copyToWriter, openWriter } from '../../content/index.js';
import { fail, isCode } from '../../errors.js';
import { parseDigest } from '../../oci/index.js';
import { type Command, stringOption } from '../command.js';
import { printList, quietOption } from '../list-output.js';
import {
  formatAge,
  formatLabels,
  formatSize,
  parseLabelArgs,
  printJson,
  UsageError,
} from '../output.js';

const infoJson = (i: Info) => ({
  digest: i.digest,
  size: i.size,
  createdAt: i.createdAt,
  updatedAt: i.updatedAt,
  labels: i.labels,
});

const statusJson = (s: Status) => ({
  ref: s.ref,
  offset: s.offset,
  total: s.total ?? null,
  expected: s.expected ?? null,
  startedAt: s.startedAt,
  updatedAt: s.updatedAt,
});

/** Writes a readable to `out`, honouring backpressure, without ending `out`. */
export async function writeAll(out: Writable, source: Readable): Promise<void> {
  for await (const chunk of source) {
    if (!out.write(chunk)) await new Promise((resolve) => out.once('drain', resolve));
  }
}

/**
 * The bytes still to send for an ingest resumed at `offset`: a regular file on stdin is
 * read from that offset; a pipe cannot seek, so the ingest restarts from zero.
 */
async function ingestSource(stdin: Readable, writer: Writer): Promise<Readable> {
  const fd = (stdin as { fd?: number }).fd;
  if (writer.offset > 0 && fd !== undefined && fstatSync(fd).isFile()) {
    return createReadStream('', { fd, start: writer.offset, autoClose: false });
  }
  if (writer.offset > 0) await writer.truncate(0);
  return stdin;
}

const ingest: Command = {
  name: 'content ingest',
  summary: 'Store the bytes read from stdin as a blob, verified against --expected',
  usage: 'REF --expected DIGEST [--size N] < FILE',
  description:
    'REF names the ingest: an interrupted ingest of the same REF resumes from the bytes already\n' +
    'written when stdin is a file. The blob is committed only if its digest (and size, when\n' +
    'given) match; a digest mismatch discards the bytes and commits nothing.',
  options: {
    expected: {
      type: 'string',
      value: 'DIGEST',
      description: 'the digest the bytes must have (required)',
    },
    size: { type: 'string', value: 'N', description: 'the size in bytes the blob must have' },
  },
  args: { min: 1, max: 1 },
  async run(ctx, [ref], values) {
    const expectedArg = stringOption(values, 'expected');
    if (expectedArg === undefined)
      throw new UsageError('content ingest: --expected DIGEST is required');
    const expected = parseDigest(expectedArg, '--expected');
    const sizeArg = stringOption(values, 'size');
    const size = sizeArg === undefined ? undefined : Number(sizeArg);
    if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) {
      throw new UsageError(`content ingest: --size ${JSON.stringify(sizeArg)} is not a byte count`);
    }
    const strata = await ctx.open();
    let writer: Writer;
    try {
      writer = await openWriter(strata.content, {
        ref: ref!,
        expected,
        signal: ctx.signal,
        ...(size === undefined ? {} : { total: size }),
      });
    } catch (err) {
      if (!isCode(err, 'AlreadyExists')) throw err;
      return report(ctx, expected, 'exists');
    }
    try {
      await copyToWriter(await ingestSource(ctx.stdin, writer), writer, ctx.signal);
      await writer.commit({ expected, ...(size === undefined ? {} : { size }) });
    } catch (err) {
      if (isCode(err, 'AlreadyExists')) return report(ctx, expected, 'exists');
      await writer.close();
      // A short input or an interruption stays resumable; wrong bytes are worth nothing.
      const short = size !== undefined && writer.offset < size;
      if (!short && !isCode(err, 'Aborted')) {
        await strata.content.abort(ref!).catch(() => {});
        throw err;
      }
      const message = (err as Error).message;
      throw fail(
        isCode(err) ? err.code : 'Internal',
        `${message} (ingest ${ref} kept: run again to resume)`,
        err,
      );
    } finally {
      await writer.close();
    }
    return report(ctx, expected, 'committed');
  },
};

function report(
  ctx: Parameters<Command['run']>[0],
  digest: string,
  status: 'exists' | 'committed',
): number {
  if (ctx.globals.json) printJson(ctx.stdout, { digest, status });
  else ctx.stdout.write(`${digest} ${status === 'exists' ? 'already exists' : 'committed'}\n`);
  return 0;
}

const ls: Command = {
  name: 'content ls',
  aliases: ['content list'],
  summary: 'List the blobs this namespace sees',
  usage: '[FILTER...]',
  description: 'Filters use containerd syntax, e.g. digest~=^sha256:ab or labels.foo==bar.',
  options: quietOption('digests'),
  async run(ctx, filters, values) {
    const strata = await ctx.open();
    const infos: Info[] = [];
    await strata.content.walk((i) => {
      infos.push(i);
    }, filters);
    return printList(ctx, values, infos, {
      id: (i) => i.digest,
      headers: ['DIGEST', 'SIZE', 'AGE', 'LABELS'],
      row: (i) => [i.digest, formatSize(i.size), formatAge(i.createdAt), formatLabels(i.labels)],
      json: infoJson,
    });
  },
};

const get: Command = {
  name: 'content get',
  summary: "Write a blob's bytes to stdout",
  usage: 'DIGEST',
  args: { min: 1, max: 1 },
  async run(ctx, [digest]) {
    const strata = await ctx.open();
    await writeAll(
      ctx.stdout,
      await strata.content.reader(parseDigest(digest), { signal: ctx.signal }),
    );
    return 0;
  },
};

const info: Command = {
  name: 'content info',
  summary: "Show a blob's size, times and labels (JSON)",
  usage: 'DIGEST',
  args: { min: 1, max: 1 },
  async run(ctx, [digest]) {
    const strata = await ctx.open();
    printJson(ctx.stdout, infoJson(await strata.content.info(parseDigest(digest))));
    return 0;
  },
};

const rm: Command = {
  name: 'content rm',
  aliases: ['content delete', 'content del', 'content remove'],
  summary: 'Remove blobs from this namespace (bytes go when no namespace keeps them)',
  usage: 'DIGEST...',
  args: { min: 1 },
  async run(ctx, digests) {
    const strata = await ctx.open();
    const parsed = digests.map((d) => parseDigest(d));
    for (const digest of parsed) {
      await strata.content.delete(digest);
      if (!ctx.globals.json) ctx.stdout.write(`${digest}\n`);
    }
    if (ctx.globals.json) printJson(ctx.stdout, { removed: parsed });
    return 0;
  },
};

const label: Command = {
  name: 'content label',
  summary: 'Set labels on a blob (KEY= removes a label)',
  usage: 'DIGEST KEY=VALUE...',
  args: { min: 2 },
  async run(ctx, [digest, ...pairs]) {
    const strata = await ctx.open();
    const labels = parseLabelArgs(pairs);
    const updated = await strata.content.update(
      parseDigest(digest),
      labels,
      Object.keys(labels).map((k) => `labels.${k}`),
    );
    if (ctx.globals.json) printJson(ctx.stdout, infoJson(updated));
    else ctx.stdout.write(`${updated.digest} ${formatLabels(updated.labels)}\n`);
    return 0;
  },
};

const active: Command = {
  name: 'content active',
  summary: 'List in-flight ingests with their offsets',
  options: quietOption('refs'),
  async run(ctx, _args, values) {
    const strata = await ctx.open();
    return printList(ctx, values, await strata.content.listStatuses(), {
      id: (s) => s.ref,
      headers: ['REF', 'OFFSET', 'TOTAL', 'STARTED', 'UPDATED'],
      row: (s) => [
        s.ref,
        formatSize(s.offset),
        s.total === undefined ? '-' : formatSize(s.total),
        formatAge(s.startedAt),
        formatAge(s.updatedAt),
      ],
      json: statusJson,
    });
  },
};

const abort: Command = {
  name: 'content abort',
  summary: 'Discard in-flight ingests and their bytes',
  usage: 'REF...',
  args: { min: 1 },
  async run(ctx, refs) {
    const strata = await ctx.open();
    for (const ref of refs) {
      await strata.content.abort(ref);
      if (!ctx.globals.json) ctx.stdout.write(`${ref}\n`);
    }
    if (ctx.globals.json) printJson(ctx.stdout, { aborted: refs });
    return 0;
  },
};

export const contentCommands: readonly Command[] = [
  ingest,
  ls,
  get,
  info,
  rm,
  label,
  active,
  abort,
];
