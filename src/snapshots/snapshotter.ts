import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { errno, fail, fromSystem, isCode, throwIfAborted } from '../errors.js';
import { labelledAdaptor, parseFilters } from '../filters.js';
import {
  type SnapshotRecord,
  type SnapshotRecords,
  snapshotRecords,
  validateLabels,
  validateSnapshotKey,
} from '../metadata/index.js';
import { createStaging, sweep, syncDir, trash } from './staging.js';
import type {
  ApplyTarget,
  ApplyTargetOptions,
  CallOptions,
  CommitOptions,
  CreateOptions,
  Info,
  Kind,
  Labels,
  Mount,
  Snapshotter,
  SnapshotterName,
  SnapshotterOptions,
  Usage,
} from './types.js';
import { diskUsage } from './usage.js';

/** Where one snapshot's files are: `<dir>/<id>/fs` (and `work` for an active overlay). */
export interface SnapshotDirs {
  readonly fs: string;
  readonly work: string;
}

/**
 * What differs between snapshotters; the rows, staging, crash safety and the containerd
 * semantics around them are shared (`snapshotterFrom`).
 */
export interface Driver {
  readonly name: SnapshotterName;
  /** True when a snapshot's files do not depend on its parent's (see CommitOptions.parent). */
  readonly rebase: boolean;
  /**
   * Fills a staging directory for a new snapshot of `kind` whose parents' `fs` dirs are
   * `parents`, nearest first. Runs before the row exists; may take long (native copies).
   */
  populate(
    staging: string,
    kind: 'active' | 'view',
    parents: readonly string[],
    signal?: AbortSignal,
  ): Promise<void>;
  mounts(kind: 'active' | 'view', dirs: SnapshotDirs, parents: readonly string[]): Mount[];
  applyTarget(dirs: SnapshotDirs, parents: readonly string[]): ApplyTarget;
}

const toInfo = (r: SnapshotRecord): Info => ({
  name: r.key,
  ...(r.parent === undefined ? {} : { parent: r.parent }),
  kind: r.kind,
  labels: r.labels,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});

/** containerd spells "no parent" as the empty string; strata accepts both. */
const noParent = (parent: string | undefined): parent is undefined | '' =>
  parent === undefined || parent === '';

/** The snapshotter directory of a root: `<root>/snapshots/<name>`. */
export function snapshotterDir(root: string, name: SnapshotterName): string {
  return join(root, 'snapshots', name);
}

/** Builds a Snapshotter from a driver over the root's metadata. */
export function snapshotterFrom(driver: Driver, options: SnapshotterOptions): Snapshotter {
  const dir = snapshotterDir(options.root, driver.name);
  const records: SnapshotRecords = snapshotRecords(
    options.db,
    options.namespace,
    driver.name,
    options.lease === undefined ? {} : { lease: options.lease },
  );
  const dirsOf = (id: string): SnapshotDirs => ({
    fs: join(dir, id, 'fs'),
    work: join(dir, id, 'work'),
  });
  const fsOf = (id: string) => dirsOf(id).fs;

  /** An active snapshot or view, with its parents' fs dirs nearest first. */
  const live = (key: string, what: string) => {
    const { record, parentIds } = records.chain(key);
    if (record.kind === 'committed') {
      throw fail('FailedPrecondition', `snapshot ${key}: committed snapshots have no ${what}`);
    }
    return { record, kind: record.kind, parents: parentIds.map(fsOf) };
  };

  /** The fs dirs of committed `parent` and its ancestors, nearest first. */
  const parentDirsOf = (parent: string): string[] => {
    const { record, parentIds } = records.chain(parent);
    if (record.kind !== 'committed') {
      throw fail('InvalidArgument', `snapshot ${parent}: parent is ${record.kind}, not committed`);
    }
    return [record.id, ...parentIds].map(fsOf);
  };

  /** Checks what can fail cheaply before any file work: the key and the parent. */
  const parentDirs = (key: string, parent: string | undefined, labels: Labels): string[] => {
    validateSnapshotKey(key);
    validateLabels(labels);
    if (exists(records, key)) throw fail('AlreadyExists', `snapshot ${key}: already exists`);
    return noParent(parent) ? [] : parentDirsOf(parent);
  };

  const create = async (
    kind: 'active' | 'view',
    key: string,
    parent: string | undefined,
    opts: CreateOptions,
  ): Promise<Mount[]> => {
    throwIfAborted(opts.signal);
    const parents = parentDirs(key, parent, opts.labels ?? {});
    const staging = await createStaging(dir);
    let id: string;
    try {
      await driver.populate(staging.path, kind, parents, opts.signal);
      throwIfAborted(opts.signal);
      id = await staging.publish();
      await syncDir(dir); // the rename is durable before the row that names it
      records.create({
        key,
        id,
        kind,
        ...(noParent(parent) ? {} : { parent }),
        labels: opts.labels ?? {},
      });
    } catch (err) {
      await staging.discard().catch(() => undefined);
      throw isCode(err) ? err : fromSystem(err, `snapshot ${key}`);
    }
    staging.release();
    return driver.mounts(kind, dirsOf(id), parents);
  };

  return {
    name: driver.name,
    capabilities: { rebase: driver.rebase },
    async stat(key, opts: CallOptions = {}) {
      throwIfAborted(opts.signal);
      return toInfo(records.get(key));
    },
    async update(info, fieldpaths = [], opts: CallOptions = {}) {
      throwIfAborted(opts.signal);
      const change = labelChange(info, fieldpaths);
      return toInfo(records.updateLabels(info.name, change));
    },
    async usage(key, opts: CallOptions = {}) {
      throwIfAborted(opts.signal);
      const record = records.get(key);
      if (record.usage !== undefined) return record.usage;
      const usage: Usage = await diskUsage(fsOf(record.id), opts.signal);
      if (record.kind === 'committed') records.cacheUsage(record.key, record.id, usage);
      return usage;
    },
    async mounts(key, opts: CallOptions = {}) {
      throwIfAborted(opts.signal);
      const { record, kind, parents } = live(key, 'mounts');
      return driver.mounts(kind, dirsOf(record.id), parents);
    },
    prepare: (key, parent, opts = {}) => create('active', key, parent, opts),
    view: (key, parent, opts = {}) => create('view', key, parent, opts),
    async commit(name, key, opts: CommitOptions = {}) {
      throwIfAborted(opts.signal);
      if (opts.parent !== undefined && !driver.rebase) {
        throw fail(
          'FailedPrecondition',
          `snapshotter ${driver.name}: cannot rebase ${key} at commit`,
        );
      }
      records.commit(name, key, opts.labels ?? {}, noParent(opts.parent) ? undefined : opts.parent);
    },
    async remove(key, opts: CallOptions = {}) {
      throwIfAborted(opts.signal);
      const record = records.remove(key);
      // The row is gone, so the snapshot is: a failure to delete its files now (a busy
      // mount) leaves an orphan for cleanup(), not an error for the caller.
      await trash(dir, record.id).catch(() => undefined);
    },
    async walk(fn, filters = [], opts: CallOptions = {}) {
      const filter = parseFilters(filters);
      for (const record of records.list()) {
        throwIfAborted(opts.signal);
        const info = toInfo(record);
        if (filter.match(adaptor(info))) await fn(info);
      }
    },
    async cleanup(opts: CallOptions = {}) {
      let entries: string[];
      try {
        entries = await readdir(dir);
      } catch (err) {
        if (errno(err) === 'ENOENT') return;
        throw fromSystem(err, `snapshots ${dir}`);
      }
      // Rows listed after the directory: whatever they own is kept without a look. The rest
      // is checked one by one (lock, then row again) by sweep.
      const owned = records.ids();
      const suspects = entries.filter((name) => !owned.has(name));
      await sweep(dir, suspects, (id) => records.hasId(id), opts.signal);
    },
    async applyTarget(key, opts: ApplyTargetOptions = {}) {
      throwIfAborted(opts.signal);
      const { record, kind, parents } = live(key, 'apply target');
      if (kind !== 'active') {
        throw fail(
          'FailedPrecondition',
          `snapshot ${key}: is a view, only active snapshots take layers`,
        );
      }
      if (noParent(opts.parent)) return driver.applyTarget(dirsOf(record.id), parents);
      if (parents.length > 0) {
        throw fail('FailedPrecondition', `snapshot ${key}: has a parent already, cannot rebase`);
      }
      return driver.applyTarget(dirsOf(record.id), parentDirsOf(opts.parent));
    },
  };
}

function exists(records: SnapshotRecords, key: string): boolean {
  try {
    records.get(key);
    return true;
  } catch (err) {
    if (isCode(err, 'NotFound')) return false;
    throw err;
  }
}

/** containerd's Update: only labels are mutable; `labels.<k>` touches one label. */
function labelChange(info: Info, fieldpaths: readonly string[]): (current: Labels) => Labels {
  for (const path of fieldpaths) {
    if (path !== 'labels' && !path.startsWith('labels.')) {
      throw fail('InvalidArgument', `snapshot ${info.name}: cannot update ${JSON.stringify(path)}`);
    }
  }
  if (fieldpaths.length === 0 || fieldpaths.includes('labels')) return () => ({ ...info.labels });
  return (current) => {
    const next: Record<string, string> = { ...current };
    for (const path of fieldpaths) {
      const key = path.slice('labels.'.length);
      const value = info.labels[key];
      if (value === undefined || value === '') delete next[key];
      else next[key] = value;
    }
    return next;
  };
}

/**
 * Walk filter fields: name, parent, kind, labels.<k>. A snapshot without a parent has
 * parent "" so that `parent!=""` selects children, as in containerd.
 */
function adaptor(info: Info) {
  return labelledAdaptor(
    { name: info.name, parent: info.parent ?? '', kind: info.kind satisfies Kind },
    info.labels,
  );
}
