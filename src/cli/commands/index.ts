import type { Command } from '../command.js';
import { contentCommands } from './content.js';
import { namespaceCommands } from './namespaces.js';
import { versionCommand } from './version.js';

/** Every CLI command, in the order `strata --help` lists them. */
export const commands: readonly Command[] = [
  ...contentCommands,
  ...namespaceCommands,
  versionCommand,
];
