/** The two store backends the boot tests run on: embedded SQLite in a temp dir, and one real etcd shared by a test file. */
import { openEmbeddedStore } from '../../src/store/embedded.js';
import { openStore } from '../../src/store/factory.js';
import type { Store } from '../../src/store/interface.js';
import { EtcdCluster } from './etcd-cluster.js';
import { tempDir } from './temp.js';

export interface OpenedStore {
  store: Store;
  release(): Promise<void>;
  /**
   * The same data through another client, as a second server process would
   * have it (etcd: a new connection; embedded: the same store, which allows one process).
   */
  sibling(): Promise<{ store: Store; release(): Promise<void> }>;
}

export interface Backend {
  name: string;
  /** A fresh, empty store and how to release it. */
  open(): Promise<OpenedStore>;
}

/** `stop` releases the etcd cluster if one was started; call it from a top-level after(). */
export function storeBackends(label: string): { backends: Backend[]; stop(): Promise<void> } {
  let cluster: EtcdCluster | undefined;
  let prefixes = 0;
  return {
    backends: [
      {
        name: 'the embedded store',
        open: async () => {
          const dir = tempDir(`${label}-store`);
          try {
            const store = await openEmbeddedStore({ dataDir: dir.path });
            return {
              store,
              release: async () => (await store.close(), dir.remove()),
              sibling: async () => ({ store, release: async () => {} }),
            };
          } catch (error) {
            dir.remove();
            throw error;
          }
        },
      },
      {
        name: 'etcd',
        open: async () => {
          cluster ??= await EtcdCluster.start(1);
          // A fresh prefix is a fresh, empty store.
          const endpoints = cluster.endpoints;
          const prefix = `/${label}-${prefixes++}/`;
          const store = await openStore({ backend: 'etcd', endpoints, prefix });
          return {
            store,
            release: () => store.close(),
            sibling: async () => {
              const other = await openStore({ backend: 'etcd', endpoints, prefix });
              return { store: other, release: () => other.close() };
            },
          };
        },
      },
    ],
    stop: async () => {
      await cluster?.stop();
      cluster = undefined;
    },
  };
}
