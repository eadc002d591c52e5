/**
 * The DHCP servers under test, each started fresh (empty lease state) inside
 * the server namespace and given the same subnet and pool: Yagura (embedded
 * store, or etcd running in the same namespace), Kea (memfile) and dnsmasq.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IpamConfig } from '../../src/inventory/model.js';
import { YAGURA } from '../../test/helpers/cli.js';
import type { NetNs, ProcessInNamespace } from '../../test/helpers/netns.js';

/** What every server is configured for: one relayed subnet and its pool. */
export interface Segment {
  /** The server's own address, on the link to the relay. */
  serverAddress: string;
  /** The server's interface in its namespace. */
  interfaceName: string;
  /** The relay's subnet (perfdhcp's giaddr is inside it), e.g. 10.69.48.0/20. */
  subnet: string;
  netmask: string;
  router: string;
  first: string;
  last: string;
  leaseSeconds: number;
  /** Yagura's IPAM, whose lease range for the relay's rack is first–last. */
  ipam: IpamConfig;
}

export interface RunningServer {
  /** The process to profile or inspect (the DHCP server itself). */
  main: ProcessInNamespace;
  stop(): Promise<void>;
}

export interface ServerUnderTest {
  label: string;
  start(ns: NetNs, segment: Segment, dir: string, options: { cpuProfDir?: string }): Promise<RunningServer>;
}

export const yaguraEmbedded: ServerUnderTest = {
  label: 'Yagura (embedded)',
  start: (ns, segment, dir, options) => startYagura(ns, segment, dir, options, false),
};

export const yaguraEtcd: ServerUnderTest = {
  label: 'Yagura (etcd)',
  start: (ns, segment, dir, options) => startYagura(ns, segment, dir, options, true),
};

export const kea: ServerUnderTest = {
  label: 'Kea',
  async start(ns, segment, dir) {
    const config = {
      Dhcp4: {
        'interfaces-config': { interfaces: [segment.interfaceName], 'dhcp-socket-type': 'udp' },
        'lease-database': { type: 'memfile', persist: true, name: join(dir, 'kea-leases4.csv'), 'lfc-interval': 0 },
        'valid-lifetime': segment.leaseSeconds,
        subnet4: [
          {
            id: 1,
            subnet: segment.subnet,
            pools: [{ pool: `${segment.first} - ${segment.last}` }],
            'option-data': [{ name: 'routers', data: segment.router }],
          },
        ],
        // Kea logs every allocation at INFO; the others log nothing per packet either.
        loggers: [{ name: 'kea-dhcp4', output_options: [{ output: 'stdout' }], severity: 'WARN' }],
      },
    };
    const file = join(dir, 'kea-dhcp4.json');
    writeFileSync(file, JSON.stringify(config, null, 2));
    const main = ns.spawn('/usr/sbin/kea-dhcp4', ['-c', file], {
      env: { ...process.env, KEA_PIDFILE_DIR: dir, KEA_LOCKFILE_DIR: dir, KEA_LOGGER_DESTINATION: 'stdout' },
    });
    return { main, stop: () => main.stop() };
  },
};

export const dnsmasq: ServerUnderTest = {
  label: 'dnsmasq',
  async start(ns, segment, dir) {
    const main = ns.spawn('/usr/sbin/dnsmasq', [
      '--no-daemon',
      '--conf-file=/dev/null',
      '--port=0', // no DNS
      '--no-resolv',
      '--no-hosts',
      `--interface=${segment.interfaceName}`,
      `--dhcp-range=${segment.first},${segment.last},${segment.netmask},${segment.leaseSeconds}`,
      `--dhcp-option=option:router,${segment.router}`,
      '--dhcp-lease-max=1000000',
      `--dhcp-leasefile=${join(dir, 'dnsmasq.leases')}`,
      // dnsmasq pings an address before offering it; Yagura and Kea do not.
      '--no-ping',
      '--dhcp-authoritative',
      '--quiet-dhcp',
      '--log-facility=-',
      '--user=root',
      `--pid-file=${join(dir, 'dnsmasq.pid')}`,
    ]);
    return { main, stop: () => main.stop() };
  },
};

async function startYagura(
  ns: NetNs,
  segment: Segment,
  dir: string,
  options: { cpuProfDir?: string },
  etcd: boolean,
): Promise<RunningServer> {
  const processes: ProcessInNamespace[] = [];
  const stop = async () => {
    for (const proc of processes.reverse()) await proc.stop(10000);
  };
  try {
    const storeFlags: string[] = [];
    if (etcd) {
      const etcdDir = join(dir, 'etcd');
      mkdirSync(etcdDir);
      // On the namespace's own loopback: reachable by this Yagura only.
      processes.push(
        ns.spawn('/usr/bin/etcd', [
          '--name=bench',
          `--data-dir=${etcdDir}`,
          '--listen-client-urls=http://127.0.0.1:2379',
          '--advertise-client-urls=http://127.0.0.1:2379',
          '--listen-peer-urls=http://127.0.0.1:2380',
          '--initial-advertise-peer-urls=http://127.0.0.1:2380',
          '--initial-cluster=bench=http://127.0.0.1:2380',
          '--log-level=warn',
        ]),
      );
      await until(async () => (await ns.exec('curl', ['-sf', 'http://127.0.0.1:2379/health'], 5000)).stdout.includes('true'));
      storeFlags.push('--store', 'etcd', '--etcd-endpoints', 'http://127.0.0.1:2379');
    }
    const main = ns.spawn(process.execPath, [
      ...(options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : []),
      YAGURA,
      'serve',
      '--data-dir',
      join(dir, 'data'),
      '--listen',
      '0.0.0.0:10080',
      '--dhcp-listen',
      '0.0.0.0:67',
      ...storeFlags,
    ]);
    processes.push(main);
    await main.waitForOutput(/"serving"/, 30000);
    // Configured through the API, from the namespace's loopback (an allowed address).
    for (const [path, body] of [
      ['ipam', segment.ipam],
      ['dhcp', { 'lease-minutes': segment.leaseSeconds / 60 }],
    ] as const) {
      await ns.exec('curl', [
        '-sf',
        '-X',
        'PUT',
        '-H',
        'content-type: application/json',
        '--data',
        JSON.stringify(body),
        `http://127.0.0.1:10080/api/v1/config/${path}`,
      ]);
    }
    return { main, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function until(check: () => Promise<boolean>, timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
