/** The etcd backend against a real 3-member etcd cluster with members dying under load. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore } from '../../src/store/factory.js';
import type { Store, WatchEvent } from '../../src/store/interface.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';

/** Runs `writers` put loops until stopped; only writes whose promise resolved count as acknowledged. */
function writeLoad(store: Store, prefix: string, writers: number) {
  const acked = new Map<string, { value: string; revision: number }>();
  let failures = 0;
  let running = true;
  const done = Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; running; i++) {
        const key = `${prefix}w${w}-${i}`;
        const value = `${w}:${i}`;
        try {
          const { revision } = await store.put(key, value);
          acked.set(key, { value, revision });
        } catch {
          failures++; // outcome unknown: not acknowledged
          await sleep(50);
        }
      }
    }),
  );
  return {
    acked,
    failures: () => failures,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

describe('etcd backend on a 3-member cluster', () => {
  let cluster: EtcdCluster;
  before(async () => {
    cluster = await EtcdCluster.start(3);
  });
  after(async () => {
    await cluster?.stop();
  });

  it('loses no acknowledged write when the raft leader is killed during writes', async () => {
    const store = await openStore({ backend: 'etcd', endpoints: cluster.endpoints, prefix: '/yagura-cluster/' });
    const leader = await cluster.leader();
    try {
      const load = writeLoad(store, 'kill-leader/', 8);
      await sleep(1000);
      const beforeKill = load.acked.size;
      await leader.kill();
      // Writes that were in flight at the old leader stall until etcd times them
      // out (about 7 s); the cluster must then take writes again.
      const deadline = Date.now() + 20000;
      while (load.acked.size < beforeKill + 200 && Date.now() < deadline) await sleep(100);
      await load.stop();
      const afterKill = load.acked.size - beforeKill;
      assert.ok(beforeKill > 50, `writes before the kill: ${beforeKill}`);
      assert.ok(afterKill >= 200, `the cluster kept taking writes after losing its leader (${afterKill} more)`);

      const check = await openStore({
        backend: 'etcd',
        endpoints: cluster.members.filter((m) => m !== leader).map((m) => m.clientUrl),
        prefix: '/yagura-cluster/',
      });
      try {
        const stored = new Map((await check.range({ prefix: 'kill-leader/' })).kvs.map((kv) => [kv.key, kv]));
        const lost = [...load.acked].filter(
          ([key, a]) => stored.get(key)?.value !== a.value || stored.get(key)?.modRevision !== a.revision,
        );
        assert.deepEqual(lost, [], `${lost.length} of ${load.acked.size} acknowledged writes lost`);
      } finally {
        await check.close();
      }
    } finally {
      await store.close();
      // Bring the member back for the next test.
      leader.start();
      await leader.waitHealthy();
    }
  });

  it('resumes a watch, without loss or duplicates, when the only member it talks to dies and comes back', async () => {
    const [watched, ...others] = cluster.members as [(typeof cluster.members)[0], ...typeof cluster.members];
    const watcher = await openStore({ backend: 'etcd', endpoints: [watched.clientUrl], prefix: '/yagura-cluster/' });
    const writer = await openStore({ backend: 'etcd', endpoints: others.map((m) => m.clientUrl), prefix: '/yagura-cluster/' });
    try {
      const watch = watcher.watch({ prefix: 'resume/' });
      await watch.ready;
      const events: WatchEvent[] = [];
      const consuming = (async () => {
        for await (const batch of watch) events.push(...batch);
      })();
      const load = writeLoad(writer, 'resume/', 4);
      await sleep(800);
      await watched.kill();
      await sleep(1500); // writes go on while the watcher's member is down
      watched.start();
      await watched.waitHealthy();
      await sleep(500);
      await load.stop();
      const last = Math.max(...[...load.acked.values()].map((a) => a.revision));
      const deadline = Date.now() + 15000;
      while ((events.at(-1)?.kv.modRevision ?? 0) < last && Date.now() < deadline) await sleep(100);
      watch.cancel();
      await consuming;

      const revisions = events.map((e) => e.kv.modRevision);
      for (let i = 1; i < revisions.length; i++)
        assert.ok(revisions[i]! > revisions[i - 1]!, `event ${i} out of order or duplicated`);
      const seen = new Map(events.map((e) => [e.kv.key, e.kv.value]));
      const missing = [...load.acked].filter(([key, a]) => seen.get(key) !== a.value);
      assert.deepEqual(missing, [], `${missing.length} of ${load.acked.size} acknowledged writes never reached the watch`);
    } finally {
      await watcher.close();
      await writer.close();
    }
  });
});
