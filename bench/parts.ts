import { e2ePart } from './e2e/index.js';
import { microPart } from './micro/index.js';
import type { PartName } from './options.js';
import type { BenchPart } from './part.js';

/**
 * Every part of `npm run bench`, by name. To add a benchmark mode: a directory
 * `bench/<name>/` whose index.ts exports a BenchPart (part.ts), its name in PART_NAMES
 * (options.ts: `--part` and the running order), its result's field in PartResults
 * (report.ts), and an entry here; its options, if any, in options.ts.
 */
export const PARTS: Readonly<Record<PartName, BenchPart>> = {
  micro: microPart,
  e2e: e2ePart,
};
