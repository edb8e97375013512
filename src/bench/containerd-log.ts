import type { LayerSample } from './results.js';

/**
 * Per-layer timings of a containerd unpack, read from its debug log. `ctr snapshots unpack`
 * runs containerd's image.Unpack in the client: for each layer a snapshot `prepare`, an
 * apply through the diff service, a `commit`. The daemon logs each of those at debug level:
 *
 * - `msg="prepare snapshot"` when the snapshot service receives a prepare, and
 *   `topic=/snapshot/prepare` when it has been done (the event is published last);
 * - `msg="diff applied" d=15.8ms` at the end of an apply, with its duration;
 * - `msg="commit snapshot"` and `topic=/snapshot/commit` around a commit.
 *
 * So prepare and commit are measured inside the daemon (without the gRPC round trip and
 * the client's work between calls), apply by the diff service itself. The client's share
 * is what `unpack` (the whole `ctr` process) adds to their sum.
 */

interface Line {
  readonly at: number;
  readonly msg: string;
  readonly topic?: string;
  readonly d?: number;
}

/** The layers of the unpack(s) logged in `text`, in order; empty if the log says nothing. */
export function layerTimings(text: string): LayerSample[] {
  const lines = text
    .split('\n')
    .map(parseLine)
    .filter((l): l is Line => l !== undefined);
  const layers: LayerSample[] = [];
  let prepare = 0;
  let apply = 0;
  let opened: { readonly kind: 'prepare' | 'commit'; readonly at: number } | undefined;
  for (const l of lines) {
    if (l.msg === 'prepare snapshot') opened = { kind: 'prepare', at: l.at };
    else if (l.msg === 'commit snapshot') opened = { kind: 'commit', at: l.at };
    else if (l.msg === 'diff applied' && l.d !== undefined) apply = l.d;
    else if (l.msg === 'event published' && opened && l.topic === `/snapshot/${opened.kind}`) {
      const seconds = l.at - opened.at;
      if (opened.kind === 'prepare') prepare = seconds;
      else layers.push({ prepare, apply, commit: seconds });
      opened = undefined;
    }
  }
  return layers;
}

/** logrus text format: `time="RFC3339Nano" level=debug msg="..." key=value ...`. */
function parseLine(line: string): Line | undefined {
  const time = /^time="([^"]+)"/.exec(line);
  const msg = /\bmsg=(?:"([^"]*)"|(\S+))/.exec(line);
  if (!time || !msg) return undefined;
  const at = nanoTime(time[1]!);
  if (at === undefined) return undefined;
  const topic = /\btopic=(\S+)/.exec(line)?.[1];
  const d = goDuration(/\bd="?([0-9.a-zµ]+)/.exec(line)?.[1]);
  return {
    at,
    msg: msg[1] ?? msg[2]!,
    ...(topic !== undefined ? { topic } : {}),
    ...(d !== undefined ? { d } : {}),
  };
}

const UNIT: Readonly<Record<string, number>> = {
  ns: 1e-9,
  µs: 1e-6,
  us: 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

/** Go's time.Duration.String(): `15.8ms`, `1m2.5s`; seconds, or undefined. */
export function goDuration(text: string | undefined): number | undefined {
  if (!text || !/^([0-9.]+(ns|µs|us|ms|s|m|h))+$/.test(text)) return undefined;
  let seconds = 0;
  for (const [, n, unit] of text.matchAll(/([0-9.]+)(ns|µs|us|ms|s|m|h)/g)) {
    seconds += Number(n) * UNIT[unit!]!;
  }
  return seconds;
}

/** Seconds since the epoch of an RFC 3339 time with up to nanoseconds (Date keeps ms only). */
function nanoTime(text: string): number | undefined {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!m) return undefined;
  const whole = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(whole)) return undefined;
  return whole / 1000 + Number(`0.${m[2] ?? '0'}`);
}
