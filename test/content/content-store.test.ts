import { join } from 'node:path';
import { openStrata } from '../../src/strata/index.js';
import { tempDir } from '../fixtures/env.js';
import { contentStoreSuite } from './suite.js';

let n = 0;

contentStoreSuite('namespaced store over the local blob store', {
  namespaced: true,
  async stores() {
    const strata = await openStrata({
      root: join(await tempDir(), `root-${n++}`),
      namespace: 'test',
    });
    return { store: strata.content, other: strata.withNamespace('other').content };
  },
});
