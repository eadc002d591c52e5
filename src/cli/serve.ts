/**
 * `yagura serve`: the boot-server daemon's flags, turned into a config
 * (serve-config.ts) for startBootServer (src/server), which runs until SIGTERM
 * or SIGINT. The server is loaded only when serve runs, so client commands
 * start fast.
 */
import { Command, Option } from 'commander';
import { VERSION } from '../lib/version.js';
import type { ServeFlags } from './serve-config.js';
import { addStoreOptions } from './store-options.js';

export function serveCommand(): Command {
  const command = new Command('serve')
    .description('run the boot server: REST API on --listen, state in the store chosen by --store')
    .addOption(new Option('--listen <host:port>', 'address of the HTTP API').default('0.0.0.0:10080').env('YAGURA_LISTEN'))
    .addOption(
      new Option('--tls-listen <host:port>', 'address of the HTTPS API (with --tls-cert/--tls-key)')
        .default('0.0.0.0:10443')
        .env('YAGURA_TLS_LISTEN'),
    )
    .addOption(
      new Option('--tls-cert <file>', 'server certificate (PEM); enables HTTPS, which alone serves disk keys').env(
        'YAGURA_TLS_CERT',
      ),
    )
    .addOption(new Option('--tls-key <file>', 'private key (PEM) of --tls-cert').env('YAGURA_TLS_KEY'))
    .addOption(
      new Option(
        '--allow-ips <list>',
        'clients that may change things without a token: IPv4 CIDRs/addresses and IPv6 addresses, comma-separated',
      )
        .default('127.0.0.1/8,::1')
        .env('YAGURA_ALLOW_IPS'),
    )
    .addOption(
      new Option(
        '--token-file <file>',
        'bearer tokens ("NAME SHA256" lines, see yagura token add); a token may change things from anywhere',
      ).env('YAGURA_TOKEN_FILE'),
    )
    .addOption(new Option('--auth-reads', 'reads need a token or an allowed address too').env('YAGURA_AUTH_READS'))
    .addOption(
      new Option(
        '--dhcp-listen <host:port|off>',
        'address of the DHCP server (relayed and directly attached clients); "off" disables it',
      )
        .default('0.0.0.0:67')
        .env('YAGURA_DHCP_LISTEN'),
    )
    .addOption(
      new Option(
        '--dhcp-local-address <ip|auto>',
        'this host’s address on the directly attached node segment; auto: the one inside the IPAM node pool',
      )
        .default('auto')
        .env('YAGURA_DHCP_LOCAL_ADDRESS'),
    )
    .addOption(
      new Option(
        '--dhcp-server-id <ip>',
        'DHCP server identifier (default: the local segment address, or the address that routes to the relay)',
      ).env('YAGURA_DHCP_SERVER_ID'),
    )
    .addOption(
      new Option(
        '--advertise-url <url>',
        'how machines reach this server, e.g. http://10.69.0.3:10080 (default: the address each client used)',
      ).env('YAGURA_ADVERTISE_URL'),
    )
    .addOption(
      new Option('--image-keep <n>', 'how many OS images to keep (the newest); older ones are deleted')
        .default('5')
        .env('YAGURA_IMAGE_KEEP'),
    )
    .addOption(
      new Option('--ipxe-efi <file>', 'iPXE EFI binary handed to UEFI HTTP Boot clients')
        .default('/usr/lib/ipxe/ipxe.efi')
        .env('YAGURA_IPXE_EFI'),
    )
    .addOption(
      new Option('--audit-retention-days <days>', 'how long audit records are kept')
        .default('60')
        .env('YAGURA_AUDIT_RETENTION_DAYS'),
    )
    .addOption(
      new Option(
        '--compact-retention <duration>',
        'keep this much store history (e.g. 24h, 7d; 0 = never compact). Default: 24h on the embedded store; off on etcd, whose own --auto-compaction-retention should be used',
      ).env('YAGURA_COMPACT_RETENTION'),
    )
    .addOption(
      new Option(
        '--store-wait <duration>',
        'while the store cannot be reached at start-up (e.g. etcd starting with this server), keep trying this long (e.g. 2m; 0 = fail at once)',
      )
        .default('0')
        .env('YAGURA_STORE_WAIT'),
    )
    .addOption(
      new Option(
        '--state-setter-serf <host:port>',
        "run the state setter (docs/state-setter.md) with the local serf agent's RPC address, e.g. 127.0.0.1:7373 (default: off)",
      ).env('YAGURA_STATE_SETTER_SERF'),
    )
    .addOption(
      new Option('--state-setter-interval <duration>', 'how often the state setter decides')
        .default('10s')
        .env('YAGURA_STATE_SETTER_INTERVAL'),
    )
    .addOption(
      new Option(
        '--state-setter-grace <list>',
        'how long an unhealthy or unreachable judgement must hold before it is written: a duration for every machine type, and TYPE=DURATION for some (machine type: the label machine-type, else the role), e.g. 1m,qemu=5s',
      )
        .default('1m')
        .env('YAGURA_STATE_SETTER_GRACE'),
    )
    .addOption(
      new Option('--no-repairs', 'do not run the repair queue on this server (docs/repairs.md)').env('YAGURA_NO_REPAIRS'),
    )
    .addOption(
      new Option(
        '--repair-after <duration>',
        'repair a machine unhealthy or unreachable this long: power-cycle it through its BMC',
      )
        .default('2m')
        .env('YAGURA_REPAIR_AFTER'),
    )
    .addOption(
      new Option('--repair-max <n>', 'at most this many machines in repair at once in the data center')
        .default('2')
        .env('YAGURA_REPAIR_MAX'),
    )
    .addOption(
      new Option('--repair-per-rack <n>', 'at most this many machines in repair at once in one rack')
        .default('1')
        .env('YAGURA_REPAIR_PER_RACK'),
    )
    .addOption(
      new Option(
        '--repair-attempts <n>',
        'power cycles before a repair is escalated to a person (the machine is set to retiring)',
      )
        .default('3')
        .env('YAGURA_REPAIR_ATTEMPTS'),
    )
    .addOption(
      new Option('--repair-wait <duration>', 'how long after a power cycle a machine has to turn healthy before the next step')
        .default('10m')
        .env('YAGURA_REPAIR_WAIT'),
    )
    .addOption(
      new Option(
        '--repair-max-faulty <n>',
        'start no repair while more machines than this are faulty at once (a partition); 0 = no limit',
      )
        .default('0')
        .env('YAGURA_REPAIR_MAX_FAULTY'),
    )
    .addOption(
      new Option('--repair-interval <duration>', 'how often the repair queue decides')
        .default('10s')
        .env('YAGURA_REPAIR_INTERVAL'),
    )
    .addHelpText(
      'after',
      `
Examples:
  yagura serve --data-dir ./yagura-data              one boot server, embedded store
  yagura serve --store etcd --etcd-endpoints http://10.0.0.1:2379,http://10.0.0.2:2379
  yagura serve --tls-cert server.pem --tls-key server.key --token-file /etc/yagura/tokens

Stops cleanly (exit 0) on SIGTERM or SIGINT, after in-flight requests finish.`,
    );
  addStoreOptions(command);
  return command.action(serve);
}

async function serve(flags: ServeFlags): Promise<void> {
  const config = (await import('./serve-config.js')).serveConfig(flags);
  const server = await (await import('../server/boot-server.js')).startBootServer(config);
  const { logger } = config;
  const status = await server.store.status().catch(async (error: unknown) => {
    await server.stop();
    throw error;
  });
  logger.info(
    {
      version: VERSION,
      listen: flags.listen,
      tlsListen: config.tls ? flags.tlsListen : undefined,
      dhcpListen: config.dhcp ? flags.dhcpListen : 'off',
      store: status.backend,
      location: status.location,
      revision: status.revision,
      machines: server.inventory.cache.size,
    },
    'serving',
  );
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info({ signal }, 'shutting down');
  await server.stop();
  logger.info('stopped');
}
