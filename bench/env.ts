import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  fsType,
  gitCommit,
  type HostFacts,
  hostFacts,
  loadAverage,
  STRATA_DIR,
  toolVersions,
} from '../src/bench/index.js';

/**
 * The harness's surroundings: where the repository and the built CLI are, the two kinds of
 * filesystem and of snapshotter it measures, and the machine facts a report records.
 */

/** The repository root (the real directory holding strata's package.json). */
export const REPO: string = (() => {
  if (STRATA_DIR === undefined) throw new Error('bench: no strata package.json above the harness');
  return STRATA_DIR;
})();

/**
 * The built CLI the bench runs as a user would: `$STRATA_BIN`, else `$STRATA_DIST/src/cli/
 * main.js`, else the repository's `dist/` (`npm run build`).
 */
export function strataBin(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STRATA_BIN) return env.STRATA_BIN;
  if (env.STRATA_DIST) return join(env.STRATA_DIST, 'src', 'cli', 'main.js');
  return join(REPO, 'dist', 'src', 'cli', 'main.js');
}

export type FsKind = 'tmpfs' | 'disk';

/** strata's snapshotters, as `--snapshotter` names them (containerd's overlayfs is overlay). */
export type SnapshotterKind = 'overlay' | 'native';

/** The parent directory of every scratch dir on a filesystem kind. */
export function fsBase(kind: FsKind, env: NodeJS.ProcessEnv = process.env): string {
  if (kind === 'tmpfs') {
    if (env.STRATA_BENCH_TMPFS) return env.STRATA_BENCH_TMPFS;
    return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  }
  if (env.STRATA_BENCH_DISK) return env.STRATA_BENCH_DISK;
  return existsSync('/var/tmp') ? '/var/tmp' : REPO;
}

/** The machine, as `npm run bench` reports record it. */
export interface Machine extends HostFacts {
  readonly strataCommit: string;
  readonly filesystems: Readonly<Record<string, { path: string; type: string }>>;
  readonly tools: Readonly<Record<string, string>>;
  /** 1-minute load average when the run started: other work on the machine shows here. */
  readonly loadAverage: number;
}

export function machineFacts(kinds: readonly FsKind[]): Machine {
  const filesystems: Record<string, { path: string; type: string }> = {};
  for (const kind of kinds) {
    const path = fsBase(kind);
    filesystems[kind] = { path, type: fsType(path) };
  }
  return {
    ...hostFacts(),
    strataCommit: gitCommit(REPO),
    filesystems,
    tools: toolVersions(['containerd', 'pigz', 'tar', 'curl', 'docker-registry']),
    loadAverage: loadAverage(),
  };
}
