import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitCommit as commitOf, findRepo, fsType, toolVersion } from '../src/bench/host.js';

// Moved to src/bench/ (shared with `strata bench snapshotters`, issue #8).
export { check, type RunOptions, type Timed, timed, vmHwm } from '../src/bench/exec.js';
export { isRoot, removeTree, scratch, syncAll, which } from '../src/bench/host.js';

/**
 * The bench's surroundings: where the repository and the built CLI are, the two kinds of
 * filesystem it measures on, the machine facts a result is meaningless without, and one
 * way to run a command and time it.
 */

/** The repository root (the real directory holding strata's package.json). */
export const REPO: string = (() => {
  const from = dirname(fileURLToPath(import.meta.url));
  const repo = findRepo(from);
  if (repo === undefined) throw new Error(`bench: no strata package.json above ${from}`);
  return repo;
})();

/**
 * The built CLI the bench runs as a user would: `$STRATA_BIN`, else `$STRATA_DIST/src/cli/
 * main.js`, else the `dist/` next to this compiled file, else the repository's `dist/`.
 */
export function strataBin(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STRATA_BIN) return env.STRATA_BIN;
  if (env.STRATA_DIST) return join(env.STRATA_DIST, 'src', 'cli', 'main.js');
  const sibling = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  if (existsSync(sibling)) return sibling;
  return join(REPO, 'dist', 'src', 'cli', 'main.js');
}

export type FsKind = 'tmpfs' | 'disk';

/** The parent directory of every scratch dir on a filesystem kind. */
export function fsBase(kind: FsKind, env: NodeJS.ProcessEnv = process.env): string {
  if (kind === 'tmpfs') {
    if (env.STRATA_BENCH_TMPFS) return env.STRATA_BENCH_TMPFS;
    return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  }
  if (env.STRATA_BENCH_DISK) return env.STRATA_BENCH_DISK;
  return existsSync('/var/tmp') ? '/var/tmp' : REPO;
}

/**
 * A preload module that writes, at exit, to `$STRATA_BENCH_RSS_FILE` as JSON:
 * - `hwm`: the peak RSS, VmHWM from /proc/self/status: the kernel's high-water mark of this
 *   address space (all threads), read at the last moment. Not `process.resourceUsage()
 *   .maxRSS`: getrusage keeps the maximum across exec, so a child forked from a large
 *   parent (this harness holds its layers in memory) reports the parent's size;
 * - `cpu`: user + system CPU seconds of the process, all threads (workers, threadpool).
 * `node --import` loads it before the CLI.
 */
export function writeRssProbe(dir: string): string {
  const file = join(dir, 'rss-probe.mjs');
  writeFileSync(
    file,
    [
      "import { readFileSync, writeFileSync } from 'node:fs';",
      "process.on('exit', () => {",
      '  const file = process.env.STRATA_BENCH_RSS_FILE;',
      "  const kb = /^VmHWM:\\s+(\\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];",
      '  const { userCPUTime, systemCPUTime } = process.resourceUsage();',
      '  const cpu = (userCPUTime + systemCPUTime) / 1e6;',
      '  if (file) writeFileSync(file, JSON.stringify({ hwm: Number(kb ?? 0) * 1024, cpu }));',
      '});',
      '',
    ].join('\n'),
  );
  return file;
}

/** What the probe wrote, or zeros. */
export function readProbe(file: string): { hwm: number; cpu: number } {
  try {
    const { hwm, cpu } = JSON.parse(readFileSync(file, 'utf8')) as { hwm?: number; cpu?: number };
    return { hwm: hwm ?? 0, cpu: cpu ?? 0 };
  } catch {
    return { hwm: 0, cpu: 0 };
  }
}

const CPU_MARK = 'STRATA_BENCH_CPU';

/**
 * A bash script running `script`, then printing on stderr the CPU seconds (user + system)
 * of the children it waited for (`cutime` + `cstime` of /proc/$$/stat): every command of
 * the script's pipelines, but not process substitutions (`>(...)`), which bash does not wait for.
 */
export function withChildrenCpu(script: string): string {
  return [
    script,
    'rc=$?',
    'read -ra st < /proc/$$/stat',
    `echo "${CPU_MARK} \${st[15]} \${st[16]} $(getconf CLK_TCK)" >&2`,
    'exit $rc',
  ].join('\n');
}

/** The CPU seconds `withChildrenCpu` printed, or undefined. */
export function childrenCpu(stderr: string): number | undefined {
  const m = new RegExp(`${CPU_MARK} (\\d+) (\\d+) (\\d+)`).exec(stderr);
  return m ? (Number(m[1]) + Number(m[2])) / Number(m[3]) : undefined;
}

/** A process's CPU seconds so far (its own and its waited-for children's), from /proc. */
export function processCpu(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = fields.slice(11, 15).reduce((n, f) => n + Number(f), 0);
    return ticks / clockTicks();
  } catch {
    return 0;
  }
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  ticksPerSecond ??=
    Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly strataCommit: string;
  readonly filesystems: Readonly<Record<string, { path: string; type: string }>>;
  readonly tools: Readonly<Record<string, string>>;
  /** 1-minute load average when the run started: other work on the machine shows here. */
  readonly loadAverage: number;
}

export function machineFacts(kinds: readonly FsKind[]): Machine {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown';
  const filesystems: Record<string, { path: string; type: string }> = {};
  for (const kind of kinds) {
    const path = fsBase(kind);
    filesystems[kind] = { path, type: fsType(path) };
  }
  return {
    cpu,
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    strataCommit: commitOf(REPO),
    filesystems,
    tools: toolVersions(),
    loadAverage: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
  };
}

function toolVersions(): Record<string, string> {
  const probes: Record<string, [string, string[]]> = {
    containerd: ['containerd', ['--version']],
    pigz: ['pigz', ['--version']],
    tar: ['tar', ['--version']],
    curl: ['curl', ['--version']],
    'docker-registry': ['docker-registry', ['--version']],
  };
  const out: Record<string, string> = {};
  for (const [name, [cmd, args]] of Object.entries(probes)) {
    const version = toolVersion(cmd, args);
    if (version !== undefined) out[name] = version;
  }
  return out;
}
