import type { ImportedImage } from '../../archive/index.js';
import { formatPlatform } from '../../oci/platform.js';
import type { CommandContext } from '../command.js';
import { printJson, printTable } from '../output.js';

/** Prints what an import recorded: a table, or JSON. */
export function printImported(ctx: CommandContext, imported: readonly ImportedImage[]): void {
  if (ctx.globals.json) {
    printJson(
      ctx.stdout,
      imported.map((i) => ({
        name: i.image.name,
        target: i.image.target,
        status: i.status,
        ...(i.chainId ? { chainId: i.chainId, platform: i.platform } : {}),
      })),
    );
    return;
  }
  printTable(
    ctx.stdout,
    ['REF', 'DIGEST', 'STATUS', 'UNPACKED'],
    imported.map((i) => [
      i.image.name,
      i.image.target.digest,
      i.status,
      i.platform ? formatPlatform(i.platform) : '-',
    ]),
  );
}
