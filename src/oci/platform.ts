import { fail } from '../errors.js';
import type { Platform } from './descriptor.js';

/**
 * Platforms with containerd's semantics (github.com/containerd/platforms): names are
 * normalized (x86_64 -> amd64, aarch64 -> arm64, armhf -> arm/v7, arm64/v8 -> arm64), and
 * matching a platform also accepts what that platform can run, best first: arm/v7 accepts
 * arm/v6 and arm/v5, arm64 accepts arm/v8..v5, amd64/v3 accepts amd64/v2, amd64 and 386.
 */

/** Lowercases and maps aliases: `macos` -> `darwin`. */
export function normalizeOs(os: string): string {
  const lower = os.toLowerCase();
  return lower === 'macos' ? 'darwin' : lower;
}

/** Maps architecture aliases and canonical variants (containerd's normalizeArch). */
export function normalizeArch(
  architecture: string,
  variant = '',
): { architecture: string; variant: string } {
  const arch = architecture.toLowerCase();
  const v = variant.toLowerCase();
  switch (arch) {
    case 'i386':
      return { architecture: '386', variant: '' };
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return { architecture: 'amd64', variant: v === 'v1' ? '' : v };
    case 'aarch64':
    case 'arm64':
      return { architecture: 'arm64', variant: ['8', 'v8', 'v8.0'].includes(v) ? '' : armish(v) };
    case 'armhf':
      return { architecture: 'arm', variant: 'v7' };
    case 'armel':
      return { architecture: 'arm', variant: 'v6' };
    case 'arm':
      return { architecture: 'arm', variant: v === '' ? 'v7' : armish(v) };
    default:
      return { architecture: arch, variant: v };
  }
}

/** `5` -> `v5`: containerd accepts a bare number for arm variants. */
function armish(variant: string): string {
  return /^[0-9]/.test(variant) ? `v${variant}` : variant;
}

/** The canonical form of a platform. */
export function normalizePlatform(p: Platform): Platform {
  const { architecture, variant } = normalizeArch(p.architecture, p.variant);
  return {
    os: normalizeOs(p.os),
    architecture,
    ...(variant !== '' ? { variant } : {}),
    ...(p['os.version'] !== undefined ? { 'os.version': p['os.version'] } : {}),
    ...(p['os.features'] !== undefined ? { 'os.features': p['os.features'] } : {}),
  };
}

/**
 * Parses `os/arch[/variant]` (or `arch` alone, meaning this host's OS), normalized.
 * @throws InvalidArgument
 */
export function parsePlatform(spec: string): Platform {
  const parts = spec.split('/');
  const bad = parts.some((p) => p === '' || !/^[A-Za-z0-9_.-]+$/.test(p));
  if (bad || parts.length > 3) {
    throw fail('InvalidArgument', `platform ${JSON.stringify(spec)}: expected os/arch[/variant]`);
  }
  if (parts.length === 1) {
    const arch = parts[0]!;
    if (isKnownOs(arch)) return normalizePlatform({ ...hostPlatform(), os: arch });
    return normalizePlatform({ os: hostPlatform().os, architecture: arch });
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return normalizePlatform({ os, architecture, ...(variant ? { variant } : {}) });
}

const KNOWN_OS = new Set(['linux', 'darwin', 'macos', 'windows', 'freebsd', 'netbsd', 'openbsd']);
function isKnownOs(value: string): boolean {
  return KNOWN_OS.has(value.toLowerCase());
}

/** `os/arch[/variant]` */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** Node's arch names to OCI's. */
const NODE_ARCH: Readonly<Record<string, string>> = {
  x64: 'amd64',
  ia32: '386',
  arm: 'arm',
  arm64: 'arm64',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
};

/** This host's platform (`linux/amd64`, `linux/arm/v7`, ...), from Node's process info. */
export function hostPlatform(): Platform {
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  const architecture = NODE_ARCH[process.arch] ?? process.arch;
  const armVersion = (process.config.variables as { arm_version?: string }).arm_version;
  const variant = architecture === 'arm' && armVersion ? `v${armVersion}` : '';
  return normalizePlatform({ os, architecture, ...(variant ? { variant } : {}) });
}

/** Picks and orders platforms: `match` filters, `less` sorts best first. */
export interface PlatformMatcher {
  match(p: Platform): boolean;
  /** True when `a` is a better match than `b`. */
  less(a: Platform, b: Platform): boolean;
  /** For messages: what the matcher accepts, e.g. `linux/amd64`. */
  readonly description: string;
}

/** What `p` can run, best first (containerd's platformVector). */
export function compatiblePlatforms(p: Platform): Platform[] {
  const n = normalizePlatform(p);
  const base = { os: n.os };
  const vector: Platform[] = [n];
  const version = Number.parseInt((n.variant ?? '').replace(/^v/, ''), 10);
  switch (n.architecture) {
    case 'amd64':
      for (let v = version - 1; v >= 1 && version > 1; v--) {
        vector.push({ ...base, architecture: 'amd64', ...(v > 1 ? { variant: `v${v}` } : {}) });
      }
      vector.push({ ...base, architecture: '386' });
      break;
    case 'arm':
      for (let v = version - 1; v >= 5 && version > 5; v--) {
        vector.push({ ...base, architecture: 'arm', variant: `v${v}` });
      }
      break;
    case 'arm64': {
      const [major = 8, minor = 0] = (n.variant ?? 'v8')
        .replace(/^v/, '')
        .split('.')
        .map((x) => Number.parseInt(x, 10));
      let eightMinor = minor;
      if (major === 9) {
        for (let m = minor - 1; m >= 0; m--) {
          vector.push({ ...base, architecture: 'arm64', variant: m === 0 ? 'v9' : `v9.${m}` });
        }
        // v9.x is compatible with v8.(x+5).
        eightMinor = minor + 5;
        vector.push({ ...base, architecture: 'arm64', variant: `v8.${eightMinor}` });
      }
      for (let m = eightMinor - 1; m >= 0 && major >= 8; m--) {
        vector.push({ ...base, architecture: 'arm64', ...(m === 0 ? {} : { variant: `v8.${m}` }) });
      }
      vector.push(...compatiblePlatforms({ ...base, architecture: 'arm', variant: 'v8' }));
      break;
    }
  }
  return vector;
}

function same(a: Platform, b: Platform): boolean {
  const x = normalizePlatform(a);
  const y = normalizePlatform(b);
  return (
    x.os === y.os && x.architecture === y.architecture && (x.variant ?? '') === (y.variant ?? '')
  );
}

/** Matches `p` and what it can run, preferring `p` itself (containerd's `platforms.Only`). */
export function onlyPlatform(p: Platform): PlatformMatcher {
  return orderedPlatforms(compatiblePlatforms(p), formatPlatform(normalizePlatform(p)));
}

/** Matches any of `platforms`, preferring earlier ones (containerd's `platforms.Ordered`). */
export function orderedPlatforms(
  platforms: readonly Platform[],
  description = platforms.map(formatPlatform).join(', '),
): PlatformMatcher {
  const rank = (p: Platform) => platforms.findIndex((q) => same(q, p));
  return {
    description,
    match: (p) => rank(p) >= 0,
    less(a, b) {
      const ra = rank(a);
      const rb = rank(b);
      return ra >= 0 && (rb < 0 || ra < rb);
    },
  };
}

/** Matches every platform (`--all-platforms`). */
export const allPlatforms: PlatformMatcher = {
  description: 'all platforms',
  match: () => true,
  less: () => false,
};

/** The default: this host's platform and what it can run. */
export function defaultPlatformMatcher(): PlatformMatcher {
  return onlyPlatform(hostPlatform());
}
