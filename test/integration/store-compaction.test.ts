import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAutoCompaction } from '../../src/store/compaction.js';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import { CompactedError } from '../../src/store/errors.js';
import { tempDir } from '../helpers/temp.js';

describe('automatic compaction on the embedded store', () => {
  it('forgets history older than the retention and keeps what is newer', async () => {
    const dir = tempDir('autocompact');
    const store = await openEmbeddedStore({ dataDir: dir.path });
    const compactedTo: number[] = [];
    const auto = startAutoCompaction(store, { retentionMs: 600, intervalMs: 100, onCompact: (r) => compactedTo.push(r) });
    try {
      const old = await store.put('k', 'old');
      await sleep(1000);
      const recent = await store.put('k', 'recent');
      await sleep(300);
      assert.ok(compactedTo.length > 0, 'it compacted');
      const status = await store.status();
      assert.ok(
        status.compactRevision >= old.revision && status.compactRevision < recent.revision,
        `compacted to ${status.compactRevision}`,
      );
      await assert.rejects(store.get('k', { revision: old.revision - 1 }), CompactedError);
      assert.equal((await store.get('k', { revision: status.compactRevision }))?.value, 'old');
      assert.equal((await store.get('k'))?.value, 'recent');
    } finally {
      auto.stop();
      await store.close();
      dir.remove();
    }
  });
});
