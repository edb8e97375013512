import type { E2eResult } from './measure.js';

/** Issue #5's targets for a pull, checked on the e2e numbers (tmpfs, overlay snapshotter). */

export interface TargetCheck {
  readonly image: string;
  readonly target: string;
  readonly value: number;
  readonly limit: number;
  readonly unit: 'x' | 'MiB';
  readonly met: boolean;
}

export function checkTargets(e2e: E2eResult): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const image of e2e.images) {
    const ratio = (peer: string) =>
      e2e.ratios.find(
        (r) =>
          r.image === image.name &&
          r.fs === 'tmpfs' &&
          r.snapshotter === 'overlay' &&
          r.peer === peer,
      )?.ratio;
    const add = (target: string, value: number | undefined, limit: number, unit: 'x' | 'MiB') => {
      if (value !== undefined && Number.isFinite(value)) {
        out.push({ image: image.name, target, value, limit, unit, met: value <= limit });
      }
    };
    add('pull+unpack vs containerd (tmpfs, overlay)', ratio('containerd'), 0.5, 'x');
    add('pull+unpack vs curl|pigz|tar (tmpfs, overlay)', ratio('curl|pigz|tar'), 1.0, 'x');
    const peaks = e2e.rows
      .filter((r) => r.image === image.name && r.tool === 'strata' && r.peakRss)
      .map((r) => r.peakRss!);
    add(
      'peak RSS of strata pull',
      peaks.length ? Math.max(...peaks) / 2 ** 20 : undefined,
      256,
      'MiB',
    );
  }
  return out;
}
