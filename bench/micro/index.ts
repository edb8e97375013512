import type { BenchPart } from '../part.js';
import { runMicro } from './measure.js';
import { microMarkdown, microTerminal } from './report.js';

/**
 * Part 1, `--part micro`: the pull pipeline's stages (sha256, gunzip, tar parse, apply,
 * the whole pipeline) on seeded and real layers, each next to the machine's limit.
 */
export const microPart: BenchPart = {
  measure: async ({ options, log }) => ({ micro: await runMicro({ ...options, log }) }),
  terminal: microTerminal,
  markdown: microMarkdown,
};
