import type { Command } from '../command.js';

/** `strata export`, `strata import`, `strata preload create|apply` (issue #6). */
export const archiveCommands: readonly Command[] = [];
