/**
 * DHCP benchmark: Kea's perfdhcp against Yagura (embedded store, and etcd),
 * Kea (memfile) and dnsmasq, one after another in the same two namespaces
 * this benchmark creates and removes:
 *
 *   perf (10.69.48.1/20, perfdhcp) ── veth ── srv (10.69.0.3/20, the server under test)
 *
 * perfdhcp's DHCPv4 traffic is always relayed — it sets giaddr to its own
 * address and takes the replies on port 67 — so every server sees what a rack's
 * relay would forward: DORA from rack 1 (10.69.48.0/20) to a server in rack 0.
 * Every server gets the same pool (Yagura's lease range for rack 1, ~4,000
 * addresses), the same lease time, and fresh, empty lease state for each run.
 *
 *   npm run build && npm run bench:dhcp
 *   YAGURA_BENCH_RATES=100,200,500,1000,2000,0   exchange rates to try (0: as fast as perfdhcp goes)
 *   YAGURA_BENCH_SECONDS=10                  how long each run lasts
 *   YAGURA_BENCH_CLIENTS=2000                distinct simulated clients (MACs)
 *   YAGURA_BENCH_SERVERS=yagura,yagura-etcd,kea,dnsmasq
 *   YAGURA_BENCH_CPU_PROF=DIR                also profile Yagura (node --cpu-prof) into DIR and print where its time goes
 * Progress goes to stderr, the table to stdout.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { leaseRange, ipamProblems } from '../../src/inventory/ipam.js';
import type { IpamConfig } from '../../src/inventory/model.js';
import { REFERENCE_IPAM } from '../../src/inventory/ipam.js';
import { formatIPv4, parseIPv4 } from '../../src/lib/ipv4.js';
import { YAGURA } from '../../test/helpers/cli.js';
import { NetNs } from '../../test/helpers/netns.js';
import { tempDir } from '../../test/helpers/temp.js';
import { printTable } from '../table.js';
import { PERFDHCP, type PerfdhcpResult, runPerfdhcp } from './perfdhcp.js';
import { summarizeProfile } from './profile.js';
import { dnsmasq, kea, type Segment, type ServerUnderTest, yaguraEmbedded, yaguraEtcd } from './servers.js';

const rates = (process.env.YAGURA_BENCH_RATES ?? '100,200,500,1000,2000,0').split(',').map(Number);
const seconds = Number(process.env.YAGURA_BENCH_SECONDS ?? 10);
const clients = Number(process.env.YAGURA_BENCH_CLIENTS ?? 2000);
const cpuProfDir = process.env.YAGURA_BENCH_CPU_PROF ? resolve(process.env.YAGURA_BENCH_CPU_PROF) : undefined;
const SERVERS: Record<string, ServerUnderTest> = { yagura: yaguraEmbedded, 'yagura-etcd': yaguraEtcd, kea, dnsmasq };
const chosen = (process.env.YAGURA_BENCH_SERVERS ?? 'yagura,yagura-etcd,kea,dnsmasq').split(',').map((name) => {
  const server = SERVERS[name];
  if (!server) throw new Error(`YAGURA_BENCH_SERVERS: unknown server ${name}; choose from ${Object.keys(SERVERS).join(', ')}`);
  return server;
});

/** Ranges of 4,096 addresses (/20) and few nodes per rack: a lease range of 4,087 addresses per rack. */
const IPAM: IpamConfig = { ...REFERENCE_IPAM, 'max-nodes-in-rack': 4, 'node-ipv4-range-size': 12, 'node-ipv4-range-mask': 20 };
const SERVER_ADDRESS = '10.69.0.3';
/** Rack 1's gateway: the range after rack 0's three (node-ip-per-node) ranges. */
const RELAY = '10.69.48.1';

async function main(): Promise<void> {
  for (const tool of [PERFDHCP, '/usr/sbin/kea-dhcp4', '/usr/sbin/dnsmasq', '/usr/bin/etcd', YAGURA]) {
    if (!existsSync(tool))
      throw new Error(`${tool} is missing (apt-get install kea-admin kea-dhcp4-server dnsmasq-base etcd-server; npm run build)`);
  }
  const problems = ipamProblems(IPAM);
  if (problems.length > 0) throw new Error(`bench IPAM: ${JSON.stringify(problems)}`);
  const range = leaseRange(IPAM, parseIPv4(RELAY)!);
  const segment: Segment = {
    serverAddress: SERVER_ADDRESS,
    interfaceName: 's0',
    subnet: '10.69.48.0/20',
    netmask: '255.255.240.0',
    router: RELAY,
    first: formatIPv4(range.first),
    last: formatIPv4(range.last),
    leaseSeconds: 3600,
    ipam: IPAM,
  };
  const poolSize = range.last - range.first + 1;
  if (clients > poolSize) throw new Error(`${clients} clients do not fit in a pool of ${poolSize}`);
  process.stderr.write(
    `pool ${segment.first}–${segment.last} (${poolSize} addresses), ${clients} clients, ${seconds} s per run, rates ${rates.map(rateLabel).join(', ')}\n`,
  );

  const dir = tempDir('bench-dhcp');
  const srv = NetNs.create();
  const perf = NetNs.create();
  const results = new Map<string, PerfdhcpResult>();
  const profiles = new Map<string, string>();
  try {
    srv.batch([
      `link add s0 type veth peer name p0 netns ${perf.name}`,
      `addr add ${SERVER_ADDRESS}/20 dev s0`,
      'link set s0 up',
      `route add ${segment.subnet} dev s0`,
    ]);
    perf.batch([`addr add ${RELAY}/20 dev p0`, 'link set p0 up', `route add 10.69.0.0/20 dev p0`]);
    let run = 0;
    for (const rate of rates) {
      for (const server of chosen) {
        const runDir = join(dir.path, `run-${++run}`);
        mkdirSync(runDir);
        const profileDir = cpuProfDir && server.label.startsWith('Yagura') ? join(cpuProfDir, `run-${run}`) : undefined;
        const running = await server.start(srv, segment, runDir, { cpuProfDir: profileDir });
        try {
          await ready(perf, server.label, () => running.main.output());
          const result = await runPerfdhcp(perf, { rate, seconds, clients, local: RELAY, server: SERVER_ADDRESS });
          if (Number.isNaN(result.dora)) throw new Error(`${server.label}: no perfdhcp report:\n${result.output}`);
          results.set(key(server.label, rate), result);
          process.stderr.write(
            `${server.label.padEnd(18)} ${rateLabel(rate).padStart(9)}: ${result.dora.toFixed(1)} DORA/s, drops ${result.discoverOffer.drops} + ${result.requestAck.drops}\n`,
          );
          if (running.main.child.exitCode !== null) throw new Error(`${server.label} exited:\n${running.main.output()}`);
        } finally {
          await running.stop();
        }
        if (profileDir) {
          const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
          if (file) profiles.set(key(server.label, rate), join(profileDir, file));
        }
      }
    }
  } finally {
    await perf.remove();
    await srv.remove();
    dir.remove();
  }

  const labels = chosen.map((s) => s.label);
  const rows: string[][] = [];
  for (const rate of rates) {
    const of = (label: string) => results.get(key(label, rate))!;
    const at = `${rateLabel(rate)}:`;
    rows.push([`${at} DORA/s`, ...labels.map((l) => of(l).dora.toFixed(1))]);
    rows.push([`${at} DO / RA sent`, ...labels.map((l) => `${of(l).discoverOffer.sent} / ${of(l).requestAck.sent}`)]);
    rows.push([
      `${at} drops DO / RA (%)`,
      ...labels.map((l) => {
        const r = of(l);
        const dropped = r.discoverOffer.drops + r.requestAck.drops;
        const pct = (100 * dropped) / Math.max(1, r.discoverOffer.sent + r.requestAck.sent);
        return `${r.discoverOffer.drops} / ${r.requestAck.drops} (${pct.toFixed(1)}%)`;
      }),
    ]);
    for (const [stage, name] of [
      ['discoverOffer', 'DISCOVER→OFFER'],
      ['requestAck', 'REQUEST→ACK'],
    ] as const) {
      rows.push([
        `${at} ${name} ms min/avg/max`,
        ...labels.map((l) => {
          const s = of(l)[stage];
          return `${ms(s.minDelay)} / ${ms(s.avgDelay)} / ${ms(s.maxDelay)}`;
        }),
      ]);
      rows.push([`${at} ${name} ms std dev`, ...labels.map((l) => ms(of(l)[stage].stdDelay))]);
    }
  }
  printTable(
    `DHCPv4 DORA with perfdhcp (${clients} clients, ${seconds} s per run, relayed, fresh lease state per run; DO = DISCOVER-OFFER, RA = REQUEST-ACK)`,
    ['perfdhcp -r (exchanges/s)', ...labels],
    rows,
  );

  for (const [name, file] of profiles) {
    console.log(`\nCPU profile of ${name} (${file}):`);
    console.log(summarizeProfile(file, 20));
  }
}

/** Waits until the server completes a DORA: a one-second perfdhcp run at 10/s (perfdhcp -n 1 is unreliable in 2.2). */
async function ready(perf: NetNs, label: string, log: () => string): Promise<void> {
  const deadline = Date.now() + 30000;
  while (true) {
    const probe = await runPerfdhcp(perf, { rate: 10, seconds: 1, clients: 1, local: RELAY, server: SERVER_ADDRESS });
    if (probe.requestAck.received > 0) return;
    if (Date.now() > deadline) throw new Error(`${label} did not answer perfdhcp within 30 s:\n${probe.output}\n${log()}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

function key(label: string, rate: number): string {
  return `${label} ${rateLabel(rate)}`;
}

function rateLabel(rate: number): string {
  return rate > 0 ? `-r ${rate}` : 'unlimited';
}

function ms(value: number): string {
  return Number.isNaN(value) ? '-' : value < 10 ? value.toFixed(3) : value.toFixed(1);
}

await main();
