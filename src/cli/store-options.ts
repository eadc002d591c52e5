/**
 * The flags that choose and configure the store, shared by every command that
 * opens one. Each has a YAGURA_* environment variable; flags win.
 */
import { type Command, Option } from 'commander';
import type { StoreConfig } from '../store/factory.js';
import { UserError } from '../lib/errors.js';

export interface StoreFlags {
  store: string;
  dataDir: string;
  etcdEndpoints?: string;
  etcdPrefix: string;
  etcdCacert?: string;
  etcdCert?: string;
  etcdKey?: string;
  etcdUser?: string;
  etcdPassword?: string;
}

export const DEFAULT_DATA_DIR = '/var/lib/yagura';

export function addStoreOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--store <backend>', 'where state lives: embedded (SQLite in --data-dir) or etcd')
        .choices(['embedded', 'etcd'])
        .default('embedded')
        .env('YAGURA_STORE'),
    )
    .addOption(
      new Option('--data-dir <dir>', 'directory of the embedded store (created if missing)')
        .default(DEFAULT_DATA_DIR)
        .env('YAGURA_DATA_DIR'),
    )
    .addOption(
      new Option(
        '--etcd-endpoints <urls>',
        'comma-separated etcd client URLs, e.g. https://10.0.0.1:2379,https://10.0.0.2:2379',
      ).env('YAGURA_ETCD_ENDPOINTS'),
    )
    .addOption(
      new Option('--etcd-prefix <prefix>', 'key prefix for all Yagura state in etcd')
        .default('/yagura/')
        .env('YAGURA_ETCD_PREFIX'),
    )
    .addOption(
      new Option('--etcd-cacert <file>', 'CA certificate (PEM) that signed the etcd server certificates').env(
        'YAGURA_ETCD_CACERT',
      ),
    )
    .addOption(new Option('--etcd-cert <file>', 'client certificate (PEM) for etcd TLS client auth').env('YAGURA_ETCD_CERT'))
    .addOption(new Option('--etcd-key <file>', 'private key (PEM) of --etcd-cert').env('YAGURA_ETCD_KEY'))
    .addOption(new Option('--etcd-user <name>', 'etcd user name (password from YAGURA_ETCD_PASSWORD)').env('YAGURA_ETCD_USER'))
    .addOption(
      new Option('--etcd-password <password>', 'etcd password; prefer the environment variable').env('YAGURA_ETCD_PASSWORD'),
    );
}

export function storeConfig(flags: StoreFlags): StoreConfig {
  if (flags.store === 'embedded') return { backend: 'embedded', dataDir: flags.dataDir };
  if (!flags.etcdEndpoints) throw new UserError('--store etcd needs --etcd-endpoints (e.g. http://127.0.0.1:2379)', 2);
  return {
    backend: 'etcd',
    endpoints: flags.etcdEndpoints
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean),
    prefix: flags.etcdPrefix,
    caFile: flags.etcdCacert,
    certFile: flags.etcdCert,
    keyFile: flags.etcdKey,
    username: flags.etcdUser,
    password: flags.etcdPassword || undefined, // an empty variable is no password
  };
}
