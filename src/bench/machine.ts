import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { STRATA_DIR, which } from './host.js';

/**
 * The facts a benchmark number is meaningless without: the machine (CPU, cores, memory,
 * kernel, Node), strata's commit, the peers' versions, the filesystem measured on and the
 * load. Each results format records them in its own shape (`MachineFacts` of `strata bench
 * snapshotters`, `Machine` of `npm run bench`), built from these.
 */

/** What every result says about the machine it ran on. */
export interface HostFacts {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
}

export function hostFacts(): HostFacts {
  const all = cpus();
  return {
    cpu: all[0]?.model.trim() ?? 'unknown',
    cores: all.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
  };
}

/** `command --version`'s first line for each command installed, by command name. */
export function toolVersions(commands: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const command of commands) {
    const version = toolVersion(command, ['--version']);
    if (version !== undefined) out[command] = version;
  }
  return out;
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

/** The 1-minute load average: other work on the machine shows here. */
export function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return Number.NaN;
  }
}
