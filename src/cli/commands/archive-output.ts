import { Writable } from 'node:stream';
import type { ImportedImage } from '../../archive/index.js';
import { fromSystem } from '../../errors.js';
import { formatPlatform } from '../../oci/index.js';
import type { CommandContext } from '../command.js';
import { printJson, printTable } from '../output.js';

/** Output of the archive commands: what an import recorded; an archive written to stdout. */

/** Prints what an import recorded: a table, or JSON. */
export function printImported(ctx: CommandContext, imported: readonly ImportedImage[]): void {
  if (ctx.globals.json) {
    printJson(
      ctx.stdout,
      imported.map((i) => ({
        name: i.image.name,
        target: i.image.target,
        status: i.status,
        ...(i.chainId
          ? { chainId: i.chainId, platform: i.platform, layersUnpacked: i.layersUnpacked }
          : {}),
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
  ctx.stdout.write(`${summary(imported)}\n`);
}

/** One line: what changed, or that nothing did (a second apply of the same bundle). */
export function summary(imported: readonly ImportedImage[]): string {
  const count = (status: ImportedImage['status']) =>
    imported.filter((i) => i.status === status).length;
  const layers = imported.reduce((n, i) => n + (i.layersUnpacked ?? 0), 0);
  const images = `${imported.length} image${imported.length === 1 ? '' : 's'}`;
  if (count('unchanged') === imported.length && layers === 0) {
    return `nothing changed: ${images} already present`;
  }
  const parts = (['created', 'updated', 'unchanged'] as const)
    .filter((s) => count(s) > 0)
    .map((s) => `${count(s)} ${s}`);
  const unpacking = imported.some((i) => i.layersUnpacked !== undefined);
  const applied = unpacking ? `; ${layers} layer${layers === 1 ? '' : 's'} unpacked` : '';
  return `${images}: ${parts.join(', ')}${applied}`;
}

/**
 * A Writable onto stdout that never ends it (later writes, the exit code, stay possible).
 * Each chunk completes when stdout took it or failed (a full disk: ENOSPC), so a failure
 * reaches the export instead of leaving it waiting for a 'drain' that never comes.
 */
export function stdoutSink(ctx: CommandContext): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      ctx.stdout.write(chunk, (err) => {
        callback(err ? fromSystem(err, 'stdout') : null);
      });
    },
  });
}
