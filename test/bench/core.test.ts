import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  columns,
  fixed,
  formatBytes,
  formatSeconds,
  freePort,
  hostFacts,
  imageDocuments,
  layoutBlobPath,
  layoutIndex,
  markdownTable,
  mebibytes,
  median,
  megabytes,
  missingCommands,
  pairedRatio,
  refNameOf,
  stopProcess,
  summarize,
  time,
  toolVersions,
} from '../../src/bench/index.js';
import { MediaType, parseConfig, parseManifest } from '../../src/oci/index.js';
import { tempDir } from '../fixtures/env.js';

// The core both benchmark trees share (src/bench, used by `strata bench` and by the
// `npm run bench` harness): each piece with inputs whose right answer is known.

describe('statistics', () => {
  it('takes the median of odd and even counts, NaN of none', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
    expect(summarize([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5, n: 3 });
  });

  it('pairs ratios run by run, over the runs both sides have', () => {
    expect(pairedRatio([2, 4, 9], [1, 1, 3, 100])).toBe(3);
  });
});

describe('formatting', () => {
  it('writes seconds, bytes and fixed-point numbers with their units', () => {
    expect(formatSeconds(2.5)).toBe('2.50 s');
    expect(formatSeconds(0.0123)).toBe('12.3 ms');
    expect(formatSeconds(0.00005)).toBe('50 µs');
    expect(formatSeconds(Number.NaN)).toBe('-');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3 * 2 ** 30)).toBe('3.00 GiB');
    expect(fixed(1 / 3, 2)).toBe('0.33');
    expect(fixed(Number.POSITIVE_INFINITY, 0)).toBe('-');
    expect(megabytes(2_500_000)).toBe('2.5');
    expect(mebibytes(300 * 2 ** 20)).toBe('300');
    expect(mebibytes(undefined)).toBe('-');
  });

  it('aligns columns without trailing spaces, and escapes markdown cells', () => {
    const rows = [
      ['tool', 'seconds', ''],
      ['curl|pigz|tar', '1.5', ''],
    ];
    expect(columns(rows)).toBe('tool           seconds\ncurl|pigz|tar  1.5');
    expect(markdownTable(rows)).toBe(
      '| tool | seconds |  |\n|---|---|---|\n| curl\\|pigz\\|tar | 1.5 |  |',
    );
  });
});

describe('the machine', () => {
  it('records the host and the versions of the tools installed, not of missing ones', () => {
    const facts = hostFacts();
    expect(facts.cores).toBeGreaterThan(0);
    expect(facts.node).toBe(process.version);
    expect(facts.kernel).not.toBe('');
    const tools = toolVersions(['node', 'strata-no-such-tool']);
    expect(tools).toEqual({ node: process.version });
    expect(missingCommands(['node', 'strata-no-such-tool'])).toEqual(['strata-no-such-tool']);
  });

  it('hands out a loopback port that can be bound', async () => {
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    expect((server.address() as { port: number }).port).toBe(port);
    await new Promise((resolve) => server.close(resolve));
  });
});

describe('processes and timing', () => {
  it('stops a process that ignores SIGTERM with SIGKILL after the grace time', async () => {
    const child = spawn('sh', ['-c', "trap '' TERM; sleep 30"], { stdio: 'ignore' });
    await new Promise((resolve) => child.once('spawn', resolve));
    await new Promise((resolve) => setTimeout(resolve, 100)); // the trap is set
    const seconds = await time(() => stopProcess(child, 200));
    expect(child.signalCode).toBe('SIGKILL');
    expect(seconds).toBeGreaterThanOrEqual(0.15);
    expect(seconds).toBeLessThan(5);
  });
});

describe('image documents and OCI layouts', () => {
  const layer = {
    mediaType: MediaType.ociLayerGzip,
    digest: `sha256:${'a'.repeat(64)}`,
    size: 10,
  } as const;
  const diffId = `sha256:${'b'.repeat(64)}`;

  it("makes a config listing the diffIDs and a manifest naming the config's digest", () => {
    const docs = imageDocuments([layer], [diffId], { createdBy: 'test', title: 't' });
    const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
    expect(docs.config.descriptor.digest).toBe(sha(docs.config.bytes));
    expect(docs.manifest.descriptor.digest).toBe(sha(docs.manifest.bytes));
    const manifest = parseManifest(docs.manifest.bytes);
    expect(manifest.config).toEqual(docs.config.descriptor);
    expect(manifest.layers).toEqual([layer]);
    expect(manifest.annotations?.['org.opencontainers.image.title']).toBe('t');
    expect(parseConfig(docs.config.bytes).rootfs.diff_ids).toEqual([diffId]);
    // the same layers give the same bytes; no history without createdBy
    expect(imageDocuments([layer], [diffId], { createdBy: 'test', title: 't' })).toEqual(docs);
    expect(
      JSON.parse(imageDocuments([layer], [diffId]).config.bytes.toString()),
    ).not.toHaveProperty('history');
  });

  it('reads a layout index and names its entries by ref name', async () => {
    const dir = await tempDir('strata-bench-layout-');
    expect(await layoutIndex(dir)).toBeUndefined();
    const { manifest } = imageDocuments([layer], [diffId]);
    const entry = {
      ...manifest.descriptor,
      annotations: { 'org.opencontainers.image.ref.name': 'v1' },
    };
    const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [entry] };
    await writeFile(join(dir, 'index.json'), JSON.stringify(index));
    const entries = await layoutIndex(dir);
    expect(entries?.map(refNameOf)).toEqual(['v1']);
    expect(layoutBlobPath(dir, entry.digest)).toBe(
      join(dir, 'blobs', 'sha256', entry.digest.slice(7)),
    );
    expect(() => layoutBlobPath(dir, 'sha256:nothex')).toThrow(/blob/);
    await mkdir(join(dir, 'bad'));
    await writeFile(join(dir, 'bad', 'index.json'), manifest.bytes); // a manifest, not an index
    await expect(layoutIndex(join(dir, 'bad'))).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});
