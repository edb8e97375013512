import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, unlinkSync } from 'node:fs';
import { mkdir, mkdtemp, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errno, fromSystem, throwIfAborted } from '../errors.js';
import { tryLock } from '../sys/index.js';
import { unmountUnder } from './mount.js';

/**
 * The crash-safe life of a snapshot directory under `<root>/snapshots/<sn>/`:
 *
 *   tmp-XXXXXX/     staging: built here, its `.lock` flocked by the live creator
 *   <id>/           renamed in when complete, then the row is inserted; `.lock` removed after
 *   rm-<id>-XXXX/   trash: renamed out after its row was deleted, then deleted
 *
 * A crash leaves at worst a staging dir, an `<id>` without a row, or trash; `sweep` removes
 * those and nothing a live process is still working on (its `.lock` is held).
 */

const LOCK = '.lock';
const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const ID_LENGTH = 10;
const ID = new RegExp(`^[${ID_ALPHABET}]{${ID_LENGTH}}$`);
/** A staging dir with no lock file is only that young while its creator is starting. */
const UNLOCKED_STAGING_GRACE_MS = 10 * 60_000;

/**
 * A new snapshot id: 10 base32 characters (50 random bits). Short on purpose: 128 lowerdirs
 * of `<id>/fs` must fit in one page of mount options.
 */
export function newId(): string {
  const bytes = randomBytes(ID_LENGTH);
  let id = '';
  for (const b of bytes) id += ID_ALPHABET[b & 31];
  return id;
}

export function isId(name: string): boolean {
  return ID.test(name);
}

/** A staging directory held by this process until `release`. */
export interface Staging {
  /** Where the directory is now: the staging path, then `<dir>/<id>` after `publish`. */
  readonly path: string;
  /** Renames the staging dir to a fresh `<id>` and returns the id. */
  publish(): Promise<string>;
  /** Deletes the directory (wherever it is now) and releases the lock. */
  discard(): Promise<void>;
  /** Drops the lock file and releases the lock; the directory stays. Never throws. */
  release(): void;
}

/** Creates `<dir>/tmp-XXXXXX` and flocks its `.lock` so `sweep` leaves it alone. */
export async function createStaging(dir: string): Promise<Staging> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let path = await mkdtemp(join(dir, 'tmp-'));
  let fd: number | undefined;
  try {
    fd = openSync(join(path, LOCK), constants.O_CREAT | constants.O_RDWR, 0o600);
    tryLock(fd); // a fresh file: nobody else can hold it
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    await rm(path, { recursive: true, force: true });
    throw fromSystem(err, `snapshot staging ${path}`);
  }
  const close = () => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };
  return {
    get path() {
      return path;
    },
    async publish() {
      for (let attempt = 0; ; attempt++) {
        const id = newId();
        try {
          await rename(path, join(dir, id));
          path = join(dir, id);
          return id;
        } catch (err) {
          // A taken id: its directory is not empty. Draw again.
          const code = errno(err);
          if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || attempt >= 8) {
            throw fromSystem(err, `snapshot dir ${path}`);
          }
        }
      }
    },
    async discard() {
      try {
        await removeTree(path);
      } finally {
        close();
      }
    },
    release() {
      try {
        unlinkSync(join(path, LOCK));
      } catch {
        // Harmless if it stays: sweep never looks inside a directory a row owns.
      } finally {
        close();
      }
    },
  };
}

/**
 * Moves `<dir>/<name>` out of sight (to `rm-...`) and deletes it. A crash midway leaves
 * trash that `sweep` finishes. Missing is fine.
 */
export async function trash(dir: string, name: string): Promise<void> {
  const trashPath = join(dir, `rm-${name}-${randomBytes(4).toString('hex')}`);
  try {
    await rename(join(dir, name), trashPath);
  } catch (err) {
    if (errno(err) === 'ENOENT') return;
    throw fromSystem(err, `snapshot dir ${join(dir, name)}`);
  }
  await removeTree(trashPath);
}

/** rm -rf, after detaching anything still mounted below `path` (a crashed probe, a view). */
export async function removeTree(path: string): Promise<void> {
  unmountUnder(path);
  await rm(path, { recursive: true, force: true, maxRetries: 3 });
}

export type LockState = 'held' | 'free' | 'absent';

/** A staging dir whose lock is free is only swept once this old (see sweep). */
const FREE_STAGING_GRACE_MS = 60_000;

/** Whether the creator of `path` is alive: its `.lock` flocked by someone else. */
function lockState(path: string): { state: LockState; close(): void } {
  let fd: number;
  try {
    fd = openSync(join(path, LOCK), constants.O_RDWR | constants.O_NOFOLLOW);
  } catch (err) {
    const code = errno(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return { state: 'absent', close() {} };
    throw fromSystem(err, `snapshot dir ${path}`);
  }
  const got = tryLock(fd);
  if (!got) closeSync(fd);
  return { state: got ? 'free' : 'held', close: () => got && closeSync(fd) };
}

/**
 * Removes, from the snapshotter directory `dir`, everything crashes left: trash, staging
 * dirs whose creator died, and `<id>` dirs no row owns. `owned(id)` is asked last, after
 * the lock check, so a directory published and recorded meanwhile is kept.
 */
export async function sweep(
  dir: string,
  entries: readonly string[],
  owned: (id: string) => boolean,
  signal?: AbortSignal,
): Promise<void> {
  for (const name of entries) {
    throwIfAborted(signal);
    const path = join(dir, name);
    if (name.startsWith('rm-')) {
      await removeTree(path).catch(() => undefined);
      continue;
    }
    const staging = name.startsWith('tmp-');
    if (!staging && !isId(name)) continue; // not ours: leave it
    const lock = lockState(path);
    try {
      if (lock.state === 'held') continue;
      // A young staging dir may be a live creator's, between its open of `.lock` and
      // its flock (or before either): left for a later sweep. Crash leftovers wait a bit.
      const grace = lock.state === 'absent' ? UNLOCKED_STAGING_GRACE_MS : FREE_STAGING_GRACE_MS;
      if (staging && (await youngerThan(path, grace))) continue;
      if (!staging && owned(name)) continue;
      await trash(dir, name);
    } finally {
      lock.close();
    }
  }
}

async function youngerThan(path: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await stat(path)).mtimeMs < ms;
  } catch {
    return false;
  }
}

/** fsyncs a directory so the renames inside it survive a crash. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
