import { closeSync, constants, fstatSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { abortError } from '../errors.js';
import { libc, systemError } from './libc.js';

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
const EWOULDBLOCK = 11;

/**
 * Takes an exclusive flock on an open fd without waiting. Returns false when another open
 * file description (this process or another) holds it. The kernel drops the lock when the
 * fd is closed or the holder dies, so a crashed holder never leaves a stale lock.
 */
export function tryLock(fd: number): boolean {
  const c = libc();
  if (c.flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
  const e = c.errno();
  if (e === EWOULDBLOCK) return false;
  throw systemError('flock', e);
}

export function unlock(fd: number): void {
  libc().flock(fd, LOCK_UN);
}

/** A held cross-process lock; `release` is idempotent. */
export interface FileLock {
  release(): void;
}

/**
 * Takes the exclusive flock of `path` (created, with its directory, when missing), waiting
 * with backoff while another process or open file holds it. The kernel drops a lock when
 * its holder dies, so a crashed holder never blocks anyone. Checked against the path's inode
 * after locking, in case the file was replaced meanwhile.
 * @throws Aborted when `signal` fires while waiting.
 */
export async function acquireFileLock(
  path: string,
  options: { signal?: AbortSignal } = {},
): Promise<FileLock> {
  for (let delay = 5; ; delay = Math.min(delay * 2, 500)) {
    const lock = tryFileLock(path);
    if (lock) return lock;
    if (options.signal?.aborted) throw abortError(options.signal);
    await sleep(delay, undefined, options.signal ? { signal: options.signal } : {}).catch(() => {});
  }
}

/** The lock of `path` if it is free now, else undefined. */
export function tryFileLock(path: string): FileLock | undefined {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
  let held = false;
  try {
    if (!tryLock(fd)) return undefined;
    const now = statSync(path, { throwIfNoEntry: false });
    if (now === undefined || now.ino !== fstatSync(fd).ino) return undefined;
    held = true;
    let open = true;
    return {
      release() {
        if (!open) return;
        open = false;
        closeSync(fd);
      },
    };
  } finally {
    if (!held) closeSync(fd);
  }
}
