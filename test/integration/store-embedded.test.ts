import { openEmbeddedStore } from '../../src/store/embedded.js';
import type { Store } from '../../src/store/interface.js';
import { inProcessCandidate } from '../helpers/candidates.js';
import { tempDir } from '../helpers/temp.js';
import { storeConformance } from './store-conformance.js';

const dir = tempDir('conformance');
let current: Store;

storeConformance({
  name: 'embedded (SQLite)',
  minTtl: 1,
  start: async () => (current = await openEmbeddedStore({ dataDir: dir.path })),
  stop: async () => dir.remove(),
  reconnect: async (store) => {
    await store.close();
    return (current = await openEmbeddedStore({ dataDir: dir.path }));
  },
  candidate: (base, name, ttl) => inProcessCandidate(current, base, name, ttl),
});
