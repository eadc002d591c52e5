import { after } from 'node:test';
import { openStore } from '../../src/store/factory.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
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
