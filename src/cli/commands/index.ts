import type { Command } from '../command.js';
import { archiveCommands } from './archive.js';
import { benchCommands } from './bench.js';
import { contentCommands } from './content.js';
import { contentFetchCommand } from './fetch.js';
import { fsckCommand } from './fsck.js';
import { gcCommands } from './gc.js';
import { imageFsCommands } from './image-fs.js';
import { imageCommands } from './images.js';
import { leaseCommands } from './leases.js';
import { loginCommands } from './login.js';
import { namespaceCommands } from './namespaces.js';
import { pullCommand } from './pull.js';
import { snapshotCommands } from './snapshots.js';
import { versionCommand } from './version.js';

/** Every CLI command, in the order `strata --help` lists them. */
export const commands: readonly Command[] = [
  pullCommand,
  ...imageCommands,
  ...imageFsCommands,
  ...loginCommands,
  ...contentCommands,
  contentFetchCommand,
  ...archiveCommands,
  ...snapshotCommands,
  ...gcCommands,
  ...leaseCommands,
  fsckCommand,
  ...namespaceCommands,
  ...benchCommands,
  versionCommand,
];
