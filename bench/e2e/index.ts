import { removeTree, scratch } from '../../src/bench/index.js';
import { fsBase } from '../env.js';
import type { BenchPart } from '../part.js';
import { writeRssProbe } from '../probes.js';
import { runE2e } from './measure.js';
import { e2eMarkdown, e2eTerminal } from './report.js';
import { checkTargets } from './targets.js';

/**
 * Part 2, `--part e2e`: pull + unpack of whole images from the bench's own registry by
 * strata's CLI and by its peers (containerd, curl|pigz|tar), with issue #5's targets.
 */
export const e2ePart: BenchPart = {
  async measure({ options, strataBin, log }) {
    const work = await scratch(fsBase('tmpfs'), 'probe');
    try {
      const e2e = await runE2e({ ...options, strataBin, probe: writeRssProbe(work), log });
      return { e2e, targets: checkTargets(e2e) };
    } finally {
      await removeTree(work);
    }
  },
  terminal: e2eTerminal,
  markdown: e2eMarkdown,
};
