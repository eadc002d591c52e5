import type { StoreConfig } from '../../src/store/factory.js';
import { openStore } from '../../src/store/factory.js';
import { spawnCandidate } from '../helpers/candidates.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
import { storeConformance } from './store-conformance.js';

let cluster: EtcdCluster;
let config: StoreConfig;

storeConformance({
  name: 'etcd (real etcd on 127.0.0.1)',
  // etcd rounds lease TTLs below its minimum (1.5 election timeouts) up to 2 s.
  minTtl: 2,
  start: async () => {
    cluster = await EtcdCluster.start(1);
    config = { backend: 'etcd', endpoints: cluster.endpoints, prefix: '/yagura-test/' };
    return openStore(config);
  },
  stop: async () => cluster?.stop(),
  reconnect: async (store) => {
    await store.close();
    return openStore(config);
  },
  candidate: async (base, name, ttl) => spawnCandidate(config, base, name, ttl),
});
