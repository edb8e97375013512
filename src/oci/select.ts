import type { Descriptor, Platform } from './descriptor.js';
import {
  allPlatforms,
  defaultPlatformMatcher,
  onlyPlatform,
  type PlatformMatcher,
  parsePlatform,
} from './platform.js';

/** How a caller names the platforms it wants (a fetch, export, or push). */
export interface PlatformChoice {
  /** `os/arch[/variant]`, a Platform or a matcher; default: this host (and what it runs). */
  readonly platform?: string | Platform | PlatformMatcher;
  /** Every platform of an index (`--all-platforms`). */
  readonly allPlatforms?: boolean;
}

/** The matcher for a choice: `allPlatforms`, the given platform, or this host. */
export function platformMatcher(options: PlatformChoice): PlatformMatcher {
  if (options.allPlatforms) return allPlatforms;
  const p = options.platform;
  if (p === undefined) return defaultPlatformMatcher();
  if (typeof p === 'string') return onlyPlatform(parsePlatform(p));
  if ('match' in p) return p;
  return onlyPlatform(p);
}

/**
 * The children of an index to fetch, as containerd's FilterPlatforms + LimitManifests: keep
 * entries without a platform or matching one, best match first (entries without a
 * platform last), and only the best one unless all platforms were asked for.
 */
export function selectManifests(
  manifests: readonly Descriptor[],
  matcher: PlatformMatcher,
  all: boolean,
): Descriptor[] {
  const kept = manifests.filter((m) => m.platform === undefined || matcher.match(m.platform));
  if (all) return kept;
  const sorted = kept
    .map((m, i) => ({ m, i }))
    .sort((a, b) => {
      if (a.m.platform === undefined) return b.m.platform === undefined ? a.i - b.i : 1;
      if (b.m.platform === undefined) return -1;
      if (matcher.less(a.m.platform, b.m.platform)) return -1;
      if (matcher.less(b.m.platform, a.m.platform)) return 1;
      return a.i - b.i;
    })
    .map(({ m }) => m);
  return sorted.slice(0, 1);
}
