/** What the embedded store promises beyond the conformance suite: durability and restarts. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import { tempDir } from '../helpers/temp.js';

const CRASH_WRITER = fileURLToPath(new URL('../fixtures/crash-writer.ts', import.meta.url));

describe('embedded store durability', () => {
  it('keeps every acknowledged write after the writing process is killed with SIGKILL', async () => {
    const dir = tempDir('crash');
    try {
      const acked = new Map<string, { value: string; revision: number }>();
      const child = spawn(process.execPath, ['--import', 'tsx', CRASH_WRITER, dir.path], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      let started = false;
      createInterface({ input: child.stdout }).on('line', (line) => {
        const [word, key, value, revision] = line.split(' ');
        if (word === 'ready') started = true;
        if (word === 'ack') acked.set(key!, { value: value!, revision: Number(revision) });
      });
      // Let it write for a while, then kill it mid-stream.
      while (acked.size < 3000) {
        await sleep(20);
        assert.equal(child.exitCode, null, 'the writer is still running');
      }
      child.kill('SIGKILL');
      assert.equal(await exited, 'SIGKILL');
      assert.ok(started);

      const store = await openEmbeddedStore({ dataDir: dir.path });
      try {
        const stored = new Map((await store.range({ prefix: 'crash/' })).kvs.map((kv) => [kv.key, kv]));
        let missing = 0;
        for (const [key, { value, revision }] of acked) {
          const kv = stored.get(key);
          if (kv?.value !== value || kv.modRevision !== revision) missing++;
        }
        assert.equal(missing, 0, `${missing} of ${acked.size} acknowledged writes were lost`);
        const status = await store.status();
        assert.ok(status.revision >= Math.max(...[...acked.values()].map((a) => a.revision)));
        // The store is fully usable after the crash.
        const next = await store.put('crash/after', 'ok');
        assert.equal(next.revision, status.revision + 1);
      } finally {
        await store.close();
      }
    } finally {
      dir.remove();
    }
  });

  it('keeps lease TTLs across a restart and expires, on open, leases that ran out while it was down', async () => {
    const dir = tempDir('lease-restart');
    try {
      let store = await openEmbeddedStore({ dataDir: dir.path });
      const short = await store.grantLease(1);
      const long = await store.grantLease(60);
      await store.put('short', 'x', { lease: short.id });
      await store.put('long', 'y', { lease: long.id });
      await store.close();
      await sleep(1500);

      store = await openEmbeddedStore({ dataDir: dir.path });
      try {
        // No waiting for the expiry timer: the overdue lease is gone as soon as the store is open.
        assert.equal(await store.get('short'), undefined);
        assert.equal(await store.leaseStatus(short.id), undefined);
        const status = await store.leaseStatus(long.id);
        assert.ok(status && status.ttl > 50 && status.ttl <= 60, `long lease has ${status?.ttl} s left`);
        assert.equal((await store.get('long'))?.lease, long.id);
        assert.equal(await store.keepAliveLease(long.id), 60);
      } finally {
        await store.close();
      }
    } finally {
      dir.remove();
    }
  });
});
