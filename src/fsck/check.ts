import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { throwIfAborted } from '../errors.js';
import { collectGarbage, type RootHandle } from '../gc/index.js';
import { GC_REF_CONTENT } from '../labels.js';
import { type Db, parseLabels } from '../metadata/index.js';
import { isDigest } from '../oci/index.js';
import { SNAPSHOTTERS } from '../snapshots/index.js';

/**
 * A finding: `error` is an inconsistency (a record pointing at missing or corrupt data);
 * `garbage` is something a crash or an interrupted operation left that nothing refers to
 * (consistent: gc or `--repair` removes it); `info` is state worth knowing (a resumable
 * download).
 */
export interface Finding {
  readonly severity: 'error' | 'garbage' | 'info';
  readonly subject: string;
  readonly message: string;
  readonly repaired?: boolean;
}

export interface FsckOptions {
  /** Remove the garbage found (through garbage collection) and what is safe to drop. */
  readonly repair?: boolean;
  /** Skip re-hashing every blob (fast mode). */
  readonly noVerify?: boolean;
  readonly signal?: AbortSignal;
}

export interface FsckReport {
  readonly findings: readonly Finding[];
  /** True when no error remains (garbage and info do not count). */
  readonly consistent: boolean;
  readonly checked: {
    readonly blobs: number;
    readonly records: number;
    readonly snapshots: number;
  };
}

/**
 * Checks a root: every blob re-hashed against its name; every record against the disk
 * (content rows → blobs, image targets → content, snapshot rows → directories, parents);
 * the disk against the records (blobs, snapshot directories, staging and trash, ingests);
 * expired leases. With `repair`, garbage goes through garbage collection (the same safe,
 * transactional deletion) and ingest records without data are dropped.
 */
export async function fsck(target: RootHandle, options: FsckOptions = {}): Promise<FsckReport> {
  const findings: Finding[] = [];
  const add = (f: Finding) => findings.push(f);
  const blobsDir = join(target.blobs.dir, 'blobs', 'sha256');
  const onDisk = new Set<string>();
  const corrupt = new Map<string, string>();
  for (const hex of readdirSync(blobsDir)) {
    const digest = `sha256:${hex}`;
    if (!isDigest(digest)) {
      add({
        severity: 'garbage',
        subject: `blob file ${hex}`,
        message: 'not named by a sha256 digest',
      });
      continue;
    }
    onDisk.add(digest);
    if (options.noVerify) continue;
    throwIfAborted(options.signal);
    const actual = await hashFile(join(blobsDir, hex));
    if (actual !== digest) corrupt.set(digest, actual);
  }

  const content = target.db.prepare('SELECT namespace, digest FROM content').all() as {
    namespace: string;
    digest: string;
  }[];
  const recorded = new Set(content.map((c) => c.digest));
  for (const [digest, actual] of corrupt) {
    // Corrupt bytes nothing refers to are garbage; under a record they are an error.
    const severity = recorded.has(digest) ? 'error' : 'garbage';
    add({ severity, subject: `blob ${digest}`, message: `corrupt: its bytes hash to ${actual}` });
  }
  for (const c of content) {
    if (!onDisk.has(c.digest)) {
      add({
        severity: 'error',
        subject: `content ${c.digest}`,
        message: `recorded in namespace ${c.namespace} but its blob is missing`,
      });
    }
  }
  const images = target.db.prepare('SELECT namespace, name, digest FROM images').all() as {
    namespace: string;
    name: string;
    digest: string;
  }[];
  const inNamespace = new Set(content.map((c) => `${c.namespace}\0${c.digest}`));
  for (const i of images) {
    if (!inNamespace.has(`${i.namespace}\0${i.digest}`)) {
      add({
        severity: 'error',
        subject: `image ${i.name}`,
        message: `namespace ${i.namespace}: target ${i.digest} is not in its content`,
      });
    }
  }
  for (const f of danglingReferences(target.db, images, inNamespace)) add(f);

  const snapshots = target.db
    .prepare('SELECT namespace, snapshotter, key, id, kind, parent FROM snapshots')
    .all() as {
    namespace: string;
    snapshotter: string;
    key: string;
    id: string;
    kind: string;
    parent: string | null;
  }[];
  const keys = new Set(snapshots.map((s) => `${s.namespace}\0${s.snapshotter}\0${s.key}`));
  for (const s of snapshots) {
    const fs = join(target.root, 'snapshots', s.snapshotter, s.id, 'fs');
    if (statSync(fs, { throwIfNoEntry: false })?.isDirectory() !== true) {
      add({
        severity: 'error',
        subject: `snapshot ${s.key}`,
        message: `${s.snapshotter}, namespace ${s.namespace}: directory ${s.id} is missing`,
      });
    }
    if (s.parent !== null && !keys.has(`${s.namespace}\0${s.snapshotter}\0${s.parent}`)) {
      add({
        severity: 'error',
        subject: `snapshot ${s.key}`,
        message: `parent ${s.parent} is missing`,
      });
    }
  }

  const garbage = await garbageFinding(target, snapshots, options.signal);
  if (garbage) add(garbage);
  const ingestRows = target.db.prepare('SELECT namespace, ref FROM ingests').all() as {
    namespace: string;
    ref: string;
  }[];
  const statuses = await target.blobs.listStatuses();
  const withData = new Set(statuses.map((s) => `${s.scope}\0${s.ref}`));
  for (const r of ingestRows) {
    if (!withData.has(`${r.namespace}\0${r.ref}`)) {
      add({
        severity: 'garbage',
        subject: `ingest ${r.ref}`,
        message: `namespace ${r.namespace}: recorded but has no data`,
      });
    }
  }
  for (const s of statuses) {
    if (s.scope !== '')
      add({
        severity: 'info',
        subject: `ingest ${s.ref}`,
        message: `resumable at ${s.offset} bytes`,
      });
  }

  if (!options.repair || !findings.some((f) => f.severity === 'garbage')) {
    return {
      findings,
      consistent: !findings.some((f) => f.severity === 'error'),
      checked: checked(),
    };
  }
  const drop = target.db.prepare('DELETE FROM ingests WHERE namespace = ? AND ref = ?');
  for (const r of ingestRows)
    if (!withData.has(`${r.namespace}\0${r.ref}`)) drop.run(r.namespace, r.ref);
  await collectGarbage(target, options.signal ? { signal: options.signal } : {});
  // What is still there after the repair (a staging dir whose creator may be alive) says so.
  const left = await garbageFinding(target, snapshots, options.signal);
  const after = findings.map((f): Finding => {
    if (f.severity !== 'garbage') return f;
    if (f.subject === 'root' && left)
      return { ...left, message: `${left.message} (kept: possibly in use)` };
    return { ...f, repaired: true };
  });
  return {
    findings: after,
    consistent: !after.some((f) => f.severity === 'error'),
    checked: checked(),
  };

  function checked() {
    return {
      blobs: onDisk.size,
      records: content.length + images.length,
      snapshots: snapshots.length,
    };
  }
}

/** What garbage collection would free, and snapshot directories no record owns. */
async function garbageFinding(
  target: RootHandle,
  snapshots: readonly { snapshotter: string; id: string }[],
  signal: AbortSignal | undefined,
): Promise<Finding | undefined> {
  const gc = await collectGarbage(target, { dryRun: true, ...(signal ? { signal } : {}) });
  const parts: string[] = [];
  if (gc.content.blobs > 0) parts.push(`${gc.content.blobs} unreferenced blobs`);
  if (gc.snapshots.records > 0) parts.push(`${gc.snapshots.records} unreferenced snapshots`);
  if (gc.ingests.records + gc.ingests.dirs > 0)
    parts.push(`${gc.ingests.records + gc.ingests.dirs} stale ingests`);
  if (gc.leases > 0) parts.push(`${gc.leases} expired leases`);
  const owned = new Set(snapshots.map((s) => `${s.snapshotter}/${s.id}`));
  const leftovers = snapshotLeftovers(target.root, owned);
  if (leftovers > 0)
    parts.push(`${leftovers} snapshot directories without records (staging, trash, orphans)`);
  return parts.length === 0
    ? undefined
    : { severity: 'garbage', subject: 'root', message: parts.join(', ') };
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }))
    hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/** Entries under the snapshotter directories that no snapshot record owns. */
function snapshotLeftovers(root: string, owned: ReadonlySet<string>): number {
  let n = 0;
  for (const sn of SNAPSHOTTERS) {
    let entries: string[];
    try {
      entries = readdirSync(join(root, 'snapshots', sn));
    } catch {
      continue;
    }
    for (const e of entries) if (!owned.has(`${sn}/${e}`)) n++;
  }
  return n;
}

/**
 * What an image needs and lacks: the content its target refers to through
 * `containerd.io/gc.ref.content.*` labels (manifests, configs, layers), transitively. An
 * image is recorded only once all of it is stored, so a gap is an error (layers discarded
 * on purpose have had their labels dropped too).
 */
function danglingReferences(
  db: Db,
  images: readonly { namespace: string; name: string; digest: string }[],
  inNamespace: ReadonlySet<string>,
): Finding[] {
  const labelsOf = db.prepare('SELECT labels FROM content WHERE namespace = ? AND digest = ?');
  const findings: Finding[] = [];
  const reported = new Set<string>();
  for (const image of images) {
    const seen = new Set<string>();
    const stack = [image.digest];
    while (stack.length > 0) {
      const digest = stack.pop()!;
      if (seen.has(digest)) continue;
      seen.add(digest);
      const raw = labelsOf.pluck().get(image.namespace, digest) as string | undefined;
      if (raw === undefined) continue; // the target itself is checked above
      for (const [key, child] of Object.entries(parseLabels(raw))) {
        if (!key.startsWith(`${GC_REF_CONTENT}.`)) continue;
        const where = `${image.namespace}\0${child}`;
        if (inNamespace.has(where)) stack.push(child);
        else if (!reported.has(where)) {
          reported.add(where);
          findings.push({
            severity: 'error',
            subject: `image ${image.name}`,
            message: `namespace ${image.namespace}: needs ${child} (${key.slice(GC_REF_CONTENT.length + 1)}), which is not stored`,
          });
        }
      }
    }
  }
  return findings;
}
