import type { ImageManifest } from '../image/index.js';
import {
  allPlatforms,
  defaultPlatformMatcher,
  orderedPlatforms,
  type PlatformMatcher,
  parsePlatform,
  platformMatcher,
} from '../oci/index.js';
import type { PlatformOptions } from './types.js';

/**
 * Which platforms an import or export keeps: `matcher` picks among an index's manifests;
 * `all` keeps every match (not only the best). Several platforms keep each one present.
 */
export interface Selection {
  readonly matcher: PlatformMatcher;
  readonly all: boolean;
}

export function selectionOf(options: PlatformOptions): Selection {
  if (options.allPlatforms) return { matcher: allPlatforms, all: true };
  const several = options.platforms ?? [];
  if (several.length > 1) {
    const list = several.map((p) => (typeof p === 'string' ? parsePlatform(p) : p));
    return { matcher: orderedPlatforms(list), all: true };
  }
  const platform = options.platform ?? several[0];
  return {
    matcher: platformMatcher(platform === undefined ? {} : { platform }),
    all: false,
  };
}

/** The matcher for unpacking (or for docker's one image per name): one platform, default this host. */
export function singleMatcher(options: PlatformOptions): PlatformMatcher {
  const platform = options.platform ?? options.platforms?.[0];
  return platform === undefined ? defaultPlatformMatcher() : platformMatcher({ platform });
}

/** The best of `manifests` for `matcher`, or undefined when none matches. */
export function bestManifest(
  manifests: readonly ImageManifest[],
  matcher: PlatformMatcher,
): ImageManifest | undefined {
  let best: ImageManifest | undefined;
  for (const m of manifests) {
    if (!matcher.match(m.platform)) continue;
    if (best === undefined || matcher.less(m.platform, best.platform)) best = m;
  }
  return best;
}
