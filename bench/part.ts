import type { BenchOptions } from './options.js';
import type { BenchReport, PartResults } from './report.js';

/**
 * A part of `npm run bench`: one benchmark mode, in its own directory `bench/<name>/`
 * whose index.ts exports the part, registered in parts.ts under a name of PART_NAMES
 * (options.ts), which `--part` selects. A part measures into the report fields it owns
 * (PartResults, report.ts), and renders them: its block of the terminal report, and its
 * generated section of docs/BENCHMARKS.md (between `bench:<name>` markers).
 */
export interface BenchPart {
  /** Measures, returning the report fields this part owns. */
  measure(ctx: PartContext): Promise<PartResults>;
  /** Its lines of the terminal report; none when the report holds nothing of it. */
  terminal(report: BenchReport): readonly string[];
  /** Its section of docs/BENCHMARKS.md; undefined when the report holds nothing of it. */
  markdown(report: BenchReport): string | undefined;
}

/** What every part is given. */
export interface PartContext {
  readonly options: BenchOptions;
  /** The built strata CLI to run as a user would (`node BIN ...`). */
  readonly strataBin: string;
  /** Progress lines (stderr). */
  readonly log: (line: string) => void;
}
