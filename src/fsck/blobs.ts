import { createHash } from 'node:crypto';
import { createReadStream, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { throwIfAborted } from '../errors.js';
import { isDigest } from '../oci/index.js';
import type { BlobScan, Check, Finding } from './types.js';

/** Lists the blob files of `dir` (`blobs/sha256`), re-hashing each unless `noVerify`. */
export async function scanBlobs(
  dir: string,
  options: { readonly noVerify?: boolean; readonly signal?: AbortSignal },
): Promise<BlobScan> {
  const onDisk = new Set<string>();
  const corrupt = new Map<string, string>();
  const misnamed: string[] = [];
  for (const hex of readdirSync(dir)) {
    const digest = `sha256:${hex}`;
    if (!isDigest(digest)) {
      misnamed.push(hex);
      continue;
    }
    onDisk.add(digest);
    if (options.noVerify) continue;
    throwIfAborted(options.signal);
    const actual = await hashFile(join(dir, hex));
    if (actual !== digest) corrupt.set(digest, actual);
  }
  return { onDisk, corrupt, misnamed };
}

/** Files in the blob directory that no digest names: garbage. */
export const misnamedBlobs: Check = (scan) =>
  scan.blobs.misnamed.map(
    (hex): Finding => ({
      severity: 'garbage',
      subject: `blob file ${hex}`,
      message: 'not named by a sha256 digest',
    }),
  );

/** Blobs whose bytes do not hash to their name: an error under a record, else garbage. */
export const corruptBlobs: Check = (scan) => {
  const recorded = new Set(scan.records.content.map((c) => c.digest));
  return [...scan.blobs.corrupt].map(
    ([digest, actual]): Finding => ({
      severity: recorded.has(digest) ? 'error' : 'garbage',
      subject: `blob ${digest}`,
      message: `corrupt: its bytes hash to ${actual}`,
    }),
  );
};

/** Content records whose blob file is gone: an error. */
export const missingBlobs: Check = (scan) =>
  scan.records.content
    .filter((c) => !scan.blobs.onDisk.has(c.digest))
    .map(
      (c): Finding => ({
        severity: 'error',
        subject: `content ${c.digest}`,
        message: `recorded in namespace ${c.namespace} but its blob is missing`,
      }),
    );

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }))
    hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}
