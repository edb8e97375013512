import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

/**
 * The bench's surroundings: where the repository and the built CLI are, the two kinds of
 * filesystem it measures on, the machine facts a result is meaningless without, and one
 * way to run a command and time it.
 */

/** The repository root (the real directory holding strata's package.json). */
export const REPO = findRepo(dirname(fileURLToPath(import.meta.url)));

function findRepo(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const real = realpathSync(pkg);
      const { name } = JSON.parse(readFileSync(real, 'utf8')) as { name?: string };
      if (name === 'strata') return dirname(real);
    }
    if (dirname(dir) === dir) throw new Error(`bench: no strata package.json above ${from}`);
  }
}

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

/** The path of a command on PATH, or undefined. */
export function which(command: string): string | undefined {
  try {
    const out = execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
    return out.trim() || undefined;
  } catch {
    return undefined;
  }
}

export const isRoot = process.getuid?.() === 0;

export interface Timed {
  readonly seconds: number;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The child's peak RSS (VmHWM) as last polled, in bytes; 0 if never read. */
  readonly polledPeakRss: number;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  /** Poll the child's VmHWM every 10 ms (a lower bound of its peak RSS). */
  readonly pollRss?: boolean;
}

/**
 * Runs `command args...`, timing it from spawn to exit (wall clock, `performance.now`).
 * stdout and stderr are kept (the last 64 KiB of each).
 */
export async function timed(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<Timed> {
  const started = performance.now();
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: options.timeoutMs ?? 600_000,
  });
  const out = tail();
  const err = tail();
  child.stdout.on('data', out.push);
  child.stderr.on('data', err.push);
  let peak = 0;
  const poll = options.pollRss
    ? setInterval(() => {
        peak = Math.max(peak, vmHwm(child.pid));
      }, 10)
    : undefined;
  const closed = new Promise((resolve) => child.on('close', resolve));
  try {
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1)));
    });
    const seconds = (performance.now() - started) / 1000;
    await closed; // all output read
    return { seconds, code, stdout: out.text(), stderr: err.text(), polledPeakRss: peak };
  } finally {
    if (poll) clearInterval(poll);
  }
}

function tail() {
  let chunks: Buffer[] = [];
  let size = 0;
  return {
    push: (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      while (size > 65536 && chunks.length > 1) size -= chunks.shift()!.length;
    },
    text: () => {
      const s = Buffer.concat(chunks).toString('utf8');
      chunks = [];
      return s;
    },
  };
}

/** A process's peak resident set (VmHWM) in bytes, from /proc; 0 when unreadable. */
export function vmHwm(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Throws with the command's stderr when it failed. */
export function check(what: string, result: Timed): Timed {
  if (result.code !== 0) {
    const why = result.stderr.trim().split('\n').slice(-5).join('\n');
    throw new Error(`bench: ${what} exited with ${result.code}: ${why}`);
  }
  return result;
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
    strataCommit: gitCommit(),
    filesystems,
    tools: toolVersions(),
    loadAverage: Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]),
  };
}

function fsType(path: string): string {
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

/** The commit measured: `$STRATA_BENCH_COMMIT` (for a build made elsewhere), else git's. */
function gitCommit(): string {
  if (process.env.STRATA_BENCH_COMMIT) return process.env.STRATA_BENCH_COMMIT;
  try {
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', REPO, ...args], { encoding: 'utf8', stdio: 'pipe' }).trim();
    const commit = git('rev-parse', '--short=12', 'HEAD');
    return git('status', '--porcelain', '--', 'src').length > 0 ? `${commit}+dirty` : commit;
  } catch {
    return 'unknown';
  }
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
    if (!which(cmd)) continue;
    try {
      const text = execFileSync(cmd, args, { encoding: 'utf8', stdio: 'pipe' });
      out[name] = text.split('\n')[0]!.trim();
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      out[name] = `${e.stdout ?? ''}${e.stderr ?? ''}`.split('\n')[0]!.trim() || 'present';
    }
  }
  return out;
}
