import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  check,
  containerdUnavailable,
  missingCommands,
  removeTree,
  scratch,
  startContainerd,
  stopProcess,
  syncAll,
  timed,
  vmHwm,
} from '../../src/bench/index.js';
import { type FsKind, fsBase, type SnapshotterKind } from '../env.js';
import { childrenCpu, processCpu, readProbe, withChildrenCpu } from '../probes.js';

/**
 * What pulls an image in the end-to-end part, each into a fresh directory on the
 * filesystem under test, timed from spawn to exit of the command a user would run:
 *
 * - `strata`: `node dist/src/cli/main.js --root DIR pull --plain-http --snapshotter S REF`;
 * - `strata fetch-only`: the same with `--no-unpack` (where the time goes: download vs unpack);
 * - `containerd`: `ctr images pull --plain-http --snapshotter overlayfs|native REF` against a
 *   fresh containerd 1.6 (root, state and socket in the scratch dir, CRI plugin disabled so
 *   nothing else runs in the daemon); the daemon is started before and stopped after the
 *   timed pull;
 * - `curl|pigz|tar`: per layer, `curl | tee >(sha256sum) | pigz -dc | tar -x` as in
 *   `../shared/lab/peer-tar.sh`, one layer after the other into one directory (no
 *   whiteouts, no metadata records, no verification against the digest: a near-limit floor);
 * - `curl|pigz|tar parallel`: the same with all layers at once, one directory per layer.
 *
 * CPU seconds are recorded too: on a 2-core machine a pull whose CPU time is twice its
 * wall time is CPU-bound, and CPU is where the tools differ in what they do per byte.
 */

export type Tool =
  | 'strata'
  | 'strata fetch-only'
  | 'containerd'
  | 'curl|pigz|tar'
  | 'curl|pigz|tar parallel';

export interface PullRun {
  readonly seconds: number;
  /** strata: getrusage maxRSS of the CLI process (exact); containerd: the daemon's VmHWM. */
  readonly peakRss?: number;
  /** strata: VmHWM polled every 10 ms (a cross-check, a lower bound). */
  readonly polledRss?: number;
  /** strata: the pull as timed inside the CLI (`--json` seconds), without process start. */
  readonly innerSeconds?: number;
  /**
   * CPU seconds (user + system) spent on the pull: strata's process (all threads);
   * containerd's daemon and ctr; the baseline's pipelines (curl, pigz, tar).
   */
  readonly cpuSeconds?: number;
}

export interface Target {
  /** `127.0.0.1:PORT` */
  readonly host: string;
  readonly repo: string;
  readonly tag: string;
  readonly layers: readonly string[];
}

export interface PullContext {
  readonly fs: FsKind;
  readonly snapshotter: SnapshotterKind;
  readonly target: Target;
}

export interface Peer {
  readonly tool: Tool;
  pull(ctx: PullContext): Promise<PullRun>;
}

const refOf = (t: Target) => `${t.host}/${t.repo}:${t.tag}`;

/** The peers this machine can run, and why the others are left out. */
export function availablePeers(options: { strataBin: string; probe: string; fetchOnly: boolean }): {
  peers: Peer[];
  skipped: string[];
} {
  const skipped: string[] = [];
  if (!existsSync(options.strataBin)) {
    throw new Error(`bench: ${options.strataBin} missing: run npm run build (or set STRATA_DIST)`);
  }
  const peers: Peer[] = [strataPeer(options.strataBin, options.probe, 'strata')];
  if (options.fetchOnly) {
    peers.push(strataPeer(options.strataBin, options.probe, 'strata fetch-only'));
  }
  const ctd = containerdUnavailable();
  if (ctd) skipped.push(`containerd: ${ctd}`);
  else peers.push(containerdPeer());
  const tools = missingCommands(['bash', 'curl', 'pigz', 'tar', 'sha256sum']);
  if (tools.length > 0) skipped.push(`curl|pigz|tar: ${tools.join(', ')} not installed`);
  else peers.push(tarPeer(false), tarPeer(true));
  return { peers, skipped };
}

function strataPeer(bin: string, probe: string, tool: Tool): Peer {
  return {
    tool,
    async pull({ fs, snapshotter, target }) {
      const dir = await scratch(fsBase(fs), 'strata');
      const rssFile = join(dir, 'maxrss');
      try {
        syncAll();
        const args = [
          '--import',
          pathToFileURL(probe).href,
          bin,
          '--root',
          join(dir, 'root'),
          '--json',
          'pull',
          '--plain-http',
          '--snapshotter',
          snapshotter,
          ...(tool === 'strata fetch-only' ? ['--no-unpack'] : []),
          refOf(target),
        ];
        const env = {
          ...process.env,
          STRATA_BENCH_RSS_FILE: rssFile,
          STRATA_ROOT: '',
          STRATA_NAMESPACE: '',
        };
        const r = check('strata pull', await timed(process.execPath, args, { env, pollRss: true }));
        const out = JSON.parse(r.stdout) as { seconds?: number };
        const usage = readProbe(rssFile);
        return {
          seconds: r.seconds,
          ...(usage.hwm > 0 ? { peakRss: usage.hwm } : {}),
          ...(usage.cpu > 0 ? { cpuSeconds: usage.cpu } : {}),
          ...(r.polledPeakRss > 0 ? { polledRss: r.polledPeakRss } : {}),
          ...(typeof out.seconds === 'number' ? { innerSeconds: out.seconds } : {}),
        };
      } finally {
        await removeTree(dir);
      }
    },
  };
}

function containerdPeer(): Peer {
  return {
    tool: 'containerd',
    async pull({ fs, snapshotter, target }) {
      const dir = await scratch(fsBase(fs), 'ctd');
      const sock = join(dir, 'ctd.sock');
      const daemon = await startContainerd(dir, sock);
      try {
        syncAll();
        const sn = snapshotter === 'overlay' ? 'overlayfs' : 'native';
        const pull = `ctr -a '${sock}' -n bench images pull --plain-http --snapshotter ${sn} '${refOf(target)}' >/dev/null`;
        const before = processCpu(daemon.pid);
        const r = check('ctr images pull', await timed('bash', ['-c', withChildrenCpu(pull)]));
        const cpu = processCpu(daemon.pid) - before + (childrenCpu(r.stderr) ?? 0);
        const peak = vmHwm(daemon.pid);
        return { seconds: r.seconds, cpuSeconds: cpu, ...(peak > 0 ? { peakRss: peak } : {}) };
      } finally {
        await stopProcess(daemon);
        await removeTree(dir);
      }
    },
  };
}

const ACCEPT =
  'application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json';

/** The shell script of the curl|pigz|tar baseline for one image. */
export function tarScript(target: Target, dir: string, parallel: boolean): string {
  const base = `http://${target.host}/v2/${target.repo}`;
  const fetchLayer = (digest: string, into: string) =>
    `curl -sf '${base}/blobs/${digest}' | tee >(sha256sum >/dev/null) | pigz -dc | tar -x -C '${into}'`;
  const lines = [
    'set -euo pipefail',
    `curl -sf -o /dev/null -H 'Accept: ${ACCEPT}' '${base}/manifests/${target.tag}'`,
  ];
  if (!parallel) {
    for (const d of target.layers) lines.push(fetchLayer(d, dir));
  } else {
    target.layers.forEach((d, i) => {
      lines.push(`mkdir '${dir}/${i}'`, `( ${fetchLayer(d, `${dir}/${i}`)} ) & p${i}=$!`);
    });
    target.layers.forEach((_, i) => {
      lines.push(`wait $p${i}`);
    });
  }
  return lines.join('\n');
}

function tarPeer(parallel: boolean): Peer {
  return {
    tool: parallel ? 'curl|pigz|tar parallel' : 'curl|pigz|tar',
    async pull({ fs, target }) {
      const dir = await scratch(fsBase(fs), 'tar');
      try {
        syncAll();
        const r = await timed('bash', ['-c', withChildrenCpu(tarScript(target, dir, parallel))]);
        const cpu = childrenCpu(check('curl|pigz|tar', r).stderr);
        return { seconds: r.seconds, ...(cpu !== undefined ? { cpuSeconds: cpu } : {}) };
      } finally {
        await removeTree(dir);
      }
    },
  };
}
