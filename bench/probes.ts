import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What a measured process cost besides time: its peak RSS and CPU seconds, read by a
 * preload module at its exit (node processes), from /proc (daemons), or by the shell
 * that waited for it (pipelines).
 */

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
