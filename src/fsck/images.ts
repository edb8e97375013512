import { GC_REF_CONTENT } from '../labels.js';
import type { Labels } from '../metadata/index.js';
import type { Check, Finding, Scan } from './types.js';

const REF_CONTENT = `${GC_REF_CONTENT}.`;

/** Images whose target is not in their namespace's content: an error. */
export const imageTargets: Check = (scan) => {
  const stored = contentLabels(scan);
  return scan.records.images
    .filter((i) => !stored.has(`${i.namespace}\0${i.digest}`))
    .map(
      (i): Finding => ({
        severity: 'error',
        subject: `image ${i.name}`,
        message: `namespace ${i.namespace}: target ${i.digest} is not in its content`,
      }),
    );
};

/**
 * What an image needs and lacks: the content its target refers to through
 * `containerd.io/gc.ref.content.*` labels (manifests, configs, layers), transitively. An
 * image is recorded only once all of it is stored, so a gap is an error (layers discarded
 * on purpose have had their labels dropped too). Each missing digest is named once per
 * namespace, by the first image that needs it.
 */
export const danglingReferences: Check = (scan) => {
  const stored = contentLabels(scan);
  const findings: Finding[] = [];
  const reported = new Set<string>();
  for (const image of scan.records.images) {
    for (const [key, child] of missingChildren(image.namespace, image.digest, stored)) {
      const where = `${image.namespace}\0${child}`;
      if (reported.has(where)) continue;
      reported.add(where);
      findings.push({
        severity: 'error',
        subject: `image ${image.name}`,
        message: `namespace ${image.namespace}: needs ${child} (${key.slice(REF_CONTENT.length)}), which is not stored`,
      });
    }
  }
  return findings;
};

/** The `[label key, digest]` references under `root` whose digest has no record. */
function missingChildren(
  ns: string,
  root: string,
  stored: ReadonlyMap<string, Labels>,
): [string, string][] {
  const missing: [string, string][] = [];
  const seen = new Set<string>();
  const stack = [root];
  while (stack.length > 0) {
    const digest = stack.pop()!;
    if (seen.has(digest)) continue;
    seen.add(digest);
    const labels = stored.get(`${ns}\0${digest}`);
    if (labels === undefined) continue; // the target itself is checked by imageTargets
    for (const [key, child] of Object.entries(labels)) {
      if (!key.startsWith(REF_CONTENT)) continue;
      if (stored.has(`${ns}\0${child}`)) stack.push(child);
      else missing.push([key, child]);
    }
  }
  return missing;
}

/** Content labels by `namespace \0 digest`, for the records of the scan. */
function contentLabels(scan: Scan): ReadonlyMap<string, Labels> {
  return new Map(scan.records.content.map((c) => [`${c.namespace}\0${c.digest}`, c.labels]));
}
