/** `yagura serve`: the boot-server daemon. */
import { Command, Option } from 'commander';
import { pino } from 'pino';
import { buildApi } from '../api/server.js';
import { UserError } from '../lib/errors.js';
import { parseDuration } from '../lib/duration.js';
import { parseListen } from '../lib/listen.js';
import { VERSION } from '../lib/version.js';
import { startAutoCompaction } from '../store/compaction.js';
import { openStore } from '../store/factory.js';
import { type StoreFlags, addStoreOptions, storeConfig } from './store-options.js';

interface ServeFlags extends StoreFlags {
  listen: string;
  compactRetention?: string;
}

export function serveCommand(): Command {
  const command = new Command('serve')
    .description('run the boot server: REST API on --listen, state in the store chosen by --store')
    .addOption(new Option('--listen <host:port>', 'address of the HTTP API').default('0.0.0.0:10080').env('YAGURA_LISTEN'))
    .addOption(
      new Option(
        '--compact-retention <duration>',
        'keep this much store history (e.g. 24h, 7d; 0 = never compact). Default: 24h on the embedded store; off on etcd, whose own --auto-compaction-retention should be used',
      ).env('YAGURA_COMPACT_RETENTION'),
    )
    .addHelpText(
      'after',
      `
Examples:
  yagura serve --data-dir ./yagura-data              one boot server, embedded store
  yagura serve --store etcd --etcd-endpoints http://10.0.0.1:2379,http://10.0.0.2:2379

Stops cleanly (exit 0) on SIGTERM or SIGINT.`,
    );
  addStoreOptions(command);
  return command.action(async (flags: ServeFlags) => serve(flags));
}

async function serve(flags: ServeFlags): Promise<void> {
  const listen = parseListen(flags.listen, '--listen');
  const retentionMs = parseDuration(flags.compactRetention ?? (flags.store === 'embedded' ? '24h' : '0'), '--compact-retention');
  const logger = pino({ base: { service: 'yagura' } });
  const store = await openStore(storeConfig(flags));
  const app = buildApi({ store, logger });
  try {
    await app.listen({ host: listen.host, port: listen.port });
  } catch (error) {
    await store.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new UserError(
        `cannot listen on ${flags.listen}: the address is in use; stop the other server or choose another --listen`,
      );
    if (code === 'EACCES')
      throw new UserError(`cannot listen on ${flags.listen}: permission denied (ports below 1024 need root)`);
    if (code === 'EADDRNOTAVAIL') throw new UserError(`cannot listen on ${flags.listen}: no such local address`);
    throw error;
  }
  const compaction =
    retentionMs > 0
      ? startAutoCompaction(store, {
          retentionMs,
          onCompact: (revision) => logger.info({ revision }, 'compacted store history'),
          onError: (err) => logger.warn({ err }, 'store compaction failed'),
        })
      : undefined;
  const status = await store.status();
  logger.info(
    { version: VERSION, listen: flags.listen, store: status.backend, location: status.location, revision: status.revision },
    'serving',
  );

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  compaction?.stop();
  await app.close(); // drains in-flight requests
  await store.close();
  logger.info('stopped');
}
