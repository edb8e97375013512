import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The machine around a benchmark: commands on PATH, scratch directories (unmounted and
 * removed afterwards), page-cache control, free loopback ports, and where strata's own
 * package is. The facts recorded with a result are in machine.ts.
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

/** The commands of `commands` that are not on PATH. */
export function missingCommands(commands: readonly string[]): string[] {
  return commands.filter((c) => which(c) === undefined);
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

/** A free TCP port on 127.0.0.1 (bound, then released for the caller to bind). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
