import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { openStore } from '../../src/store/factory.js';
import { call, startApi } from '../helpers/api-server.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
import { EXAMPLE_IPAM } from '../fixtures/ipam.js';
import { inventoryApiSuite } from './inventory-api.js';

let cluster: EtcdCluster | undefined;
let prefixes = 0;
after(async () => cluster?.stop());

inventoryApiSuite({
  name: 'etcd',
  open: async () => {
    cluster ??= await EtcdCluster.start(1);
    // A fresh prefix is a fresh, empty inventory.
    return openStore({ backend: 'etcd', endpoints: cluster.endpoints, prefix: `/inventory-${prefixes++}/` });
  },
  cleanup: async () => {},
});

describe('inventory API on etcd: transaction size', () => {
  it("refuses a batch larger than etcd's --max-txn-ops with a 400 that says what to do, writing nothing", async () => {
    cluster ??= await EtcdCluster.start(1);
    const store = await openStore({ backend: 'etcd', endpoints: cluster.endpoints, prefix: '/inventory-big/' });
    const server = await startApi(store);
    try {
      const ipam = {
        ...EXAMPLE_IPAM,
        'max-nodes-in-rack': 200,
        'node-ipv4-range-size': 8,
        'node-ipv4-range-mask': 24,
        'bmc-ipv4-range-size': 8,
      };
      assert.equal((await call(server.url, 'PUT', '/api/v1/config/ipam', ipam)).status, 200);
      const batch = Array.from({ length: 150 }, (_, i) => ({
        serial: `big-${i}`,
        rack: 0,
        role: 'worker',
        bmc: { type: 'IPMI-2.0' },
      }));
      const response = await call(server.url, 'POST', '/api/v1/machines', batch);
      assert.equal(response.status, 400);
      assert.match((response.body as { error: string }).error, /--max-txn-ops/);
      assert.deepEqual((await call(server.url, 'GET', '/api/v1/machines')).body, []);
      assert.equal((await call(server.url, 'POST', '/api/v1/machines', batch.slice(0, 100))).status, 201);
    } finally {
      await server.close();
      await store.close();
    }
  });
});
