import { openEmbeddedStore } from '../../src/store/embedded.js';
import { tempDir } from '../helpers/temp.js';
import { inventoryApiSuite } from './inventory-api.js';

const dirs: { remove(): void }[] = [];

inventoryApiSuite({
  name: 'the embedded store',
  open: async () => {
    const dir = tempDir('inventory');
    dirs.push(dir);
    return openEmbeddedStore({ dataDir: dir.path });
  },
  cleanup: async () => dirs.pop()?.remove(),
});
