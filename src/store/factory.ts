/** Opens the store a configuration names: embedded SQLite (default) or etcd. */
import type { Store } from './interface.js';
import { openEmbeddedStore } from './embedded.js';
import { type EtcdConnectOptions, openEtcdStore } from './etcd-open.js';

export type StoreConfig = { backend: 'embedded'; dataDir: string } | ({ backend: 'etcd' } & EtcdConnectOptions);

export async function openStore(config: StoreConfig): Promise<Store> {
  switch (config.backend) {
    case 'embedded':
      return openEmbeddedStore({ dataDir: config.dataDir });
    case 'etcd':
      return openEtcdStore(config);
  }
}
