import { describe } from 'vitest';
import { nativeSnapshotter } from '../../src/snapshots/native.js';
import { overlaySnapshotter } from '../../src/snapshots/overlay.js';
import { missing, skipNote } from '../fixtures/env.js';
import { snapshotterSuite } from './suite.js';

const needsRoot = missing({ root: true });

// overlay on the disk (ext4) and on tmpfs: both back real image roots.
describe.skipIf(needsRoot)(`overlay${skipNote(needsRoot)}`, () => {
  snapshotterSuite('overlay', overlaySnapshotter, { renamesLowerDirectories: false });
});
describe.skipIf(needsRoot)(`overlay on tmpfs${skipNote(needsRoot)}`, () => {
  snapshotterSuite('overlay', overlaySnapshotter, { renamesLowerDirectories: false, fast: true });
});

// native runs everywhere; without root the suite reads bind mounts through their source.
describe('native', () => {
  snapshotterSuite('native', nativeSnapshotter, { renamesLowerDirectories: true });
});
describe('native on tmpfs', () => {
  snapshotterSuite('native', nativeSnapshotter, { renamesLowerDirectories: true, fast: true });
});
