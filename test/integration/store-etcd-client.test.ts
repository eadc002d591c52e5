/** The etcd client stays usable through what a boot server does to it (several watches opened and cancelled). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openStore } from '../../src/store/factory.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';

describe('etcd client health', () => {
  it('keeps working after several watches are cancelled at once (no tripped circuit breaker)', async () => {
    const cluster = await EtcdCluster.start(1);
    const store = await openStore({ backend: 'etcd', endpoints: cluster.endpoints, prefix: '/client/' });
    try {
      const watches = Array.from({ length: 4 }, () => store.watch({ prefix: 'x' }));
      await Promise.all(watches.map((w) => w.ready));
      for (const watch of watches) watch.cancel();
      await new Promise((r) => setTimeout(r, 200));
      await store.put('after', 'cancel');
      assert.equal((await store.get('after'))?.value, 'cancel');
    } finally {
      await store.close();
      await cluster.stop();
    }
  });
});
