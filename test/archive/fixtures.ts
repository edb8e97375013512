import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  allBlobs,
  type Blob,
  describe,
  type TestImage,
  type TestIndex,
} from '../fixtures/images.js';
import type { TarEntrySpec } from '../fixtures/tar-builder.js';

/**
 * Archives for the archive tests, written the ways other tools write them: OCI layout
 * directories (blob files, `oci-layout`, `index.json`), tars of them by GNU tar (`./` names),
 * member lists for strata's tar builder (any order, any damage), and docker-save trees.
 */
export interface LayoutEntry {
  readonly image: TestImage | TestIndex;
  readonly annotations?: Readonly<Record<string, string>>;
}

function top(image: TestImage | TestIndex): Blob {
  return 'index' in image ? image.index : image.manifest;
}

export function indexJson(entries: readonly LayoutEntry[]): string {
  return JSON.stringify({
    schemaVersion: 2,
    manifests: entries.map((e) => ({
      ...describe(top(e.image)),
      ...(e.annotations ? { annotations: e.annotations } : {}),
    })),
  });
}

export const LAYOUT = JSON.stringify({ imageLayoutVersion: '1.0.0' });

/** An OCI layout directory holding `entries`. */
export function writeLayout(dir: string, entries: readonly LayoutEntry[]): string {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  for (const e of entries) {
    for (const b of allBlobs(e.image)) {
      writeFileSync(join(dir, 'blobs', 'sha256', b.digest.slice(7)), b.bytes);
    }
  }
  writeFileSync(join(dir, 'oci-layout'), LAYOUT);
  writeFileSync(join(dir, 'index.json'), indexJson(entries));
  return dir;
}

/** `tar -C dir -cf out .`: GNU tar's names start with `./`. */
export function tarDirectory(dir: string, out: string): string {
  execFileSync('tar', ['-C', dir, '-cf', out, '.']);
  return out;
}

/** The members of an OCI layout tar, in the order given by `order`. */
export function layoutMembers(
  entries: readonly LayoutEntry[],
  order: 'index-first' | 'index-last' = 'index-last',
): TarEntrySpec[] {
  const seen = new Set<string>();
  const blobs: TarEntrySpec[] = [];
  for (const e of entries) {
    for (const b of allBlobs(e.image)) {
      if (seen.has(b.digest)) continue;
      seen.add(b.digest);
      blobs.push({ name: `blobs/sha256/${b.digest.slice(7)}`, content: b.bytes });
    }
  }
  const meta: TarEntrySpec[] = [
    { name: 'oci-layout', content: LAYOUT },
    { name: 'index.json', content: indexJson(entries) },
  ];
  return order === 'index-first' ? [...meta, ...blobs] : [...blobs, ...meta];
}

/** A stream of `bytes` that fails after `cut` bytes (an interrupted copy). */
export function cutStream(bytes: Buffer, cut: number): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (sent) {
        this.destroy(new Error('connection reset'));
        return;
      }
      sent = true;
      this.push(bytes.subarray(0, cut));
    },
  });
}
