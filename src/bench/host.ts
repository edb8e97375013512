import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The machine around a benchmark: commands on PATH, scratch directories (unmounted and
 * removed afterwards), page-cache control, and the facts a number is meaningless without
 * (filesystem type, strata's commit).
 */

export const isRoot = process.getuid?.() === 0;

/** The path of a command on PATH, or undefined. */
export function which(command: string): string | undefined {
  try {
    const out = execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
    return out.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A fresh scratch directory under `base`; remove it with `removeTree`. */
export async function scratch(base: string, prefix: string): Promise<string> {
  await mkdir(base, { recursive: true });
  return mkdtemp(join(base, `strata-bench-${prefix}-`));
}

/** Unmounts whatever is mounted under `dir` (deepest first), then removes it. */
export async function removeTree(dir: string): Promise<void> {
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((m): m is string => m !== undefined && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {}
  }
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Flushes dirty pages so a run does not pay for the writeback of the one before. */
export function syncAll(): void {
  try {
    execFileSync('sync', { stdio: 'ignore' });
  } catch {}
}

/**
 * Drops the page, dentry and inode caches (root only): the next run reads from the
 * device. tmpfs keeps its pages (they are its storage). False when not permitted.
 */
export function dropCaches(): boolean {
  syncAll();
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    return true;
  } catch {
    return false;
  }
}

/** The filesystem type holding `path` (`tmpfs`, `ext4`, ...), or `unknown`. */
export function fsType(path: string): string {
  for (const [cmd, args] of [
    ['findmnt', ['-no', 'FSTYPE', '-T', path]],
    ['stat', ['-f', '-c', '%T', path]],
  ] as const) {
    try {
      const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: 'pipe' });
      const type = out.trim().split('\n')[0]?.trim();
      if (type) return type;
    } catch {}
  }
  return 'unknown';
}

/** The directory of strata's package.json above `from` (symlinks resolved), or undefined. */
export function findRepo(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const real = realpathSync(pkg);
      const { name } = JSON.parse(readFileSync(real, 'utf8')) as { name?: string };
      if (name === 'strata') return dirname(real);
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** strata's own package directory (where this module was loaded from). */
export const STRATA_DIR: string | undefined = findRepo(dirname(fileURLToPath(import.meta.url)));

/**
 * The commit measured: `$STRATA_BENCH_COMMIT` (for a build made elsewhere), else git's
 * (12 hex digits, `+dirty` when `src/` has changes), else `unknown`.
 */
export function gitCommit(repo: string | undefined = STRATA_DIR): string {
  if (process.env.STRATA_BENCH_COMMIT) return process.env.STRATA_BENCH_COMMIT;
  if (repo === undefined) return 'unknown';
  try {
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', stdio: 'pipe' }).trim();
    const commit = git('rev-parse', '--short=12', 'HEAD');
    return git('status', '--porcelain', '--', 'src').length > 0 ? `${commit}+dirty` : commit;
  } catch {
    return 'unknown';
  }
}

/** The first line a command prints for its version, or undefined when it is missing. */
export function toolVersion(command: string, args: readonly string[]): string | undefined {
  if (!which(command)) return undefined;
  try {
    const text = execFileSync(command, args, { encoding: 'utf8', stdio: 'pipe' });
    return text.split('\n')[0]!.trim();
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`.split('\n')[0]!.trim() || 'present';
  }
}

/** The 1-minute load average: other work on the machine shows here. */
export function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return Number.NaN;
  }
}
