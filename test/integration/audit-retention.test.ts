import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { auditDay } from '../../src/inventory/audit.js';
import { startAuditRetention } from '../../src/inventory/audit-retention.js';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import { tempDir } from '../helpers/temp.js';

describe('audit retention', () => {
  it('deletes the records of days older than the retention and keeps the rest', async () => {
    const dir = tempDir('audit-retention');
    const store = await openEmbeddedStore({ dataDir: dir.path });
    try {
      const day = (daysAgo: number) => auditDay(new Date(Date.now() - daysAgo * 86_400_000));
      for (const daysAgo of [90, 61, 59, 1, 0]) await store.put(`audit/${day(daysAgo)}/0000000000000-00000000`, '{}');
      const deletedCounts: number[] = [];
      const job = startAuditRetention(store, { days: 60, onDelete: (n) => deletedCounts.push(n) });
      await sleep(200);
      job.stop();
      const left = (await store.range({ prefix: 'audit/' })).kvs.map((kv) => kv.key.slice(6, 14));
      assert.deepEqual(left, [day(59), day(1), day(0)]);
      assert.deepEqual(deletedCounts, [2]);
    } finally {
      await store.close();
      dir.remove();
    }
  });
});
