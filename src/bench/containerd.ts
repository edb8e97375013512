import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fail } from '../errors.js';
import { check, stopProcess, type Timed, timed } from './exec.js';
import { isRoot, missingCommands } from './host.js';

/**
 * A throwaway containerd (Debian's 1.6) for the benchmarks: root, state, socket and log in
 * one scratch directory, the CRI plugin disabled so nothing else runs in the daemon, the
 * log at debug level (it carries per-layer timings), and `ctr` calls against it.
 */

/** Why containerd cannot be measured here, or undefined when it can. */
export function containerdUnavailable(): string | undefined {
  const absent = missingCommands(['containerd', 'ctr']);
  if (absent.length > 0) return `${absent.join(', ')} not installed`;
  if (!isRoot) return 'needs root';
  return undefined;
}

/** Starts containerd with everything under `dir`, listening on `sock`; waits until it answers. */
export async function startContainerd(dir: string, sock: string): Promise<ChildProcess> {
  const config = join(dir, 'config.toml');
  await mkdir(dir, { recursive: true });
  await writeFile(
    config,
    [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${sock}"`,
      '[debug]',
      '  level = "debug"',
      '',
    ].join('\n'),
  );
  const log = openSync(join(dir, 'containerd.log'), 'w');
  const daemon = spawn('containerd', ['--config', config], { stdio: ['ignore', log, log] });
  closeSync(log); // the daemon has its own copy
  for (let i = 0; i < 200; i++) {
    if (daemon.exitCode !== null) break;
    if (existsSync(sock)) {
      const r = await timed('ctr', ['-a', sock, 'version']);
      if (r.code === 0) return daemon;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stopProcess(daemon);
  const tail = await readFile(join(dir, 'containerd.log'), 'utf8').catch(() => '');
  const last = tail.trim().split('\n').slice(-3).join('; ');
  throw fail('Unavailable', `containerd in ${dir}: did not start: ${last}`);
}

/** A running daemon and the `ctr` command line bound to it. */
export interface Containerd {
  /** containerd's root (`<dir>/root`): its snapshotters keep their files below. */
  readonly root: string;
  readonly namespace: string;
  /** The daemon's log (debug level: `containerd-log.ts` reads per-layer timings from it). */
  readonly log: string;
  /**
   * Runs `ctr -a SOCK -n NAMESPACE ARGS...`, timed from spawn to exit.
   * @throws Internal when ctr fails (its last stderr lines in the message).
   */
  ctr(
    args: readonly string[],
    options?: { stdin?: AsyncIterable<Uint8Array>; signal?: AbortSignal },
  ): Promise<Timed>;
  stop(): Promise<void>;
}

/** Starts a daemon under `dir` whose `ctr` calls use `namespace`. */
export async function openContainerd(dir: string, namespace: string): Promise<Containerd> {
  const sock = join(dir, 'ctd.sock');
  const daemon = await startContainerd(dir, sock);
  return {
    root: join(dir, 'root'),
    namespace,
    log: join(dir, 'containerd.log'),
    async ctr(args, options = {}) {
      const r = await timed('ctr', ['-a', sock, '-n', namespace, ...args], options);
      return check(`ctr ${args.slice(0, 2).join(' ')}`, r);
    },
    stop: () => stopProcess(daemon),
  };
}
