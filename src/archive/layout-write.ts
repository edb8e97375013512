import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Store } from '../content/index.js';
import { fail, fromSystem, throwIfAborted } from '../errors.js';
import type { Descriptor } from '../oci/index.js';
import type { ProgressEvent } from '../progress.js';
import { indexEntry, indexFile, layoutFile } from './export-entries.js';
import type { ExportImage } from './export-plan.js';
import { INDEX_FILE, LAYOUT_FILE, MAX_JSON_MEMBER } from './layout.js';
import { blobPath } from './member-name.js';
import { ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME } from './names.js';

/**
 * Writes images into an OCI layout directory, adding to what is there (as skopeo's `oci:`
 * does): blobs first (each to a temporary name, then renamed; those present with the right
 * size are kept), `index.json` last, so the layout never names a blob it lacks. An entry
 * already in `index.json` under the same name is replaced.
 */
export async function writeLayoutDir(
  dir: string,
  content: Store,
  images: readonly ExportImage[],
  blobs: readonly Descriptor[],
  o: { signal?: AbortSignal; emit: (e: ProgressEvent) => void },
): Promise<number> {
  let bytes = 0;
  for (const desc of blobs) {
    throwIfAborted(o.signal);
    const path = join(dir, blobPath(desc.digest));
    const present = await stat(path).catch(() => undefined);
    if (present?.size === desc.size) {
      o.emit({ phase: 'exists', id: desc.digest, kind: 'blob', done: desc.size, total: desc.size });
      continue;
    }
    await mkdir(dirname(path), { recursive: true });
    await atomically(path, async (tmp) => {
      o.emit({ phase: 'exporting', id: desc.digest, kind: 'blob', done: 0, total: desc.size });
      await pipeline(
        await content.reader(desc.digest),
        createWriteStream(tmp, { flags: 'wx', mode: 0o644, flush: true }),
        o.signal ? { signal: o.signal } : {},
      );
    });
    bytes += desc.size;
    o.emit({ phase: 'done', id: desc.digest, kind: 'blob', done: desc.size, total: desc.size });
  }
  const layoutPath = join(dir, LAYOUT_FILE);
  if (!(await stat(layoutPath).catch(() => undefined))) {
    await atomically(layoutPath, (tmp) => writeFile(tmp, layoutFile()));
  }
  const indexPath = join(dir, INDEX_FILE);
  const entries = await existingEntries(indexPath, new Set(images.map((i) => i.name)));
  for (const image of images) entries.push(indexEntry(image.name, image.target));
  await atomically(indexPath, (tmp) => writeFile(tmp, indexFile(entries)));
  return bytes;
}

/** The entries of an existing index.json, without those of `names`. */
async function existingEntries(
  path: string,
  names: ReadonlySet<string>,
): Promise<Record<string, unknown>[]> {
  const size = (await stat(path).catch(() => undefined))?.size;
  if (size === undefined) return [];
  if (size > MAX_JSON_MEMBER) {
    throw fail('InvalidArgument', `${path}: larger than ${MAX_JSON_MEMBER} bytes`);
  }
  let index: { manifests?: unknown };
  try {
    index = JSON.parse((await readFile(path)).toString('utf8')) as { manifests?: unknown };
  } catch (err) {
    throw fail('InvalidArgument', `${path}: ${(err as Error).message}`, err);
  }
  const manifests = Array.isArray(index.manifests) ? index.manifests : [];
  return (manifests as { annotations?: Record<string, string> }[]).filter((m) => {
    const a = m.annotations ?? {};
    const name = a[ANNOTATION_IMAGE_NAME];
    if (name !== undefined) return !names.has(name);
    const ref = a[ANNOTATION_REF_NAME];
    return ref === undefined || ![...names].some((n) => n.endsWith(`:${ref}`));
  }) as Record<string, unknown>[];
}

/** Writes through a temporary file renamed over `path`, removed if writing fails. */
export async function atomically(
  path: string,
  fill: (tmp: string) => Promise<void>,
): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    await fill(tmp);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw fromSystem(err, path);
  }
}
