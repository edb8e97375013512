import type { Command } from '../command.js';

/** `strata bench snapshotters`, `strata bench report` (issue #8). */
export const benchCommands: readonly Command[] = [];
