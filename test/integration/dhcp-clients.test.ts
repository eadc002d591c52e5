/**
 * Yagura's DHCP server against real clients nobody here wrote — busybox
 * udhcpc and ISC dhclient — directly attached and through a dnsmasq relay in
 * a router namespace. Everything runs in namespaces this test creates.
 *
 *   client-direct ── br0 (10.69.0.3/26, yagura) ── router (10.69.0.1 | 10.69.0.193, dnsmasq --dhcp-relay) ── client-rack1
 */
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Inventory } from '../../src/inventory/inventory.js';
import { DhcpLeaseRepository } from '../../src/boot/dhcp/leases.js';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import { YAGURA } from '../helpers/cli.js';
import { NetNs, type ProcessInNamespace } from '../helpers/netns.js';
import { tempDir } from '../helpers/temp.js';
import { EXAMPLE_IPAM } from '../fixtures/ipam.js';

const actor = { user: 'test', ip: '127.0.0.1' };

/** A udhcpc/dhclient hook that prints what the client was given, one line per event. */
function writeHook(dir: string): string {
  const hook = join(dir, 'hook.sh');
  writeFileSync(
    hook,
    [
      '#!/bin/sh',
      // udhcpc passes the event as $1 and ip/subnet/router/lease/serverid; dhclient passes $reason and new_* variables.
      'echo "EVENT ${1:-$reason} ip=${ip:-$new_ip_address} mask=${subnet:-$new_subnet_mask} router=${router:-$new_routers} lease=${lease:-$new_dhcp_lease_time} server=${serverid:-$new_dhcp_server_identifier} dns=${dns:-$new_domain_name_servers}"',
      '[ -n "$interface" ] && [ -n "$ip" ] && ip addr add "$ip/${mask:-26}" dev "$interface" 2>/dev/null',
      'exit 0',
      '',
    ].join('\n'),
  );
  chmodSync(hook, 0o755);
  return hook;
}

describe('DHCP with real clients', { timeout: 180_000 }, () => {
  const dir = tempDir('dhcp-clients');
  const hook = writeHook(dir.path);
  const dataDir = join(dir.path, 'data');
  let server: NetNs;
  let router: NetNs;
  let direct: NetNs;
  let rack1: NetNs;
  let yagura: ProcessInNamespace;
  let relay: ProcessInNamespace;

  before(async () => {
    // The inventory the server starts with: the reference IPAM, 2-minute leases, one DNS server.
    const store = await openEmbeddedStore({ dataDir });
    const inventory = new Inventory(store);
    await inventory.config.setIpam(EXAMPLE_IPAM, actor);
    await inventory.config.setDhcp({ 'lease-minutes': 2, 'dns-servers': ['10.69.0.53'] }, actor);
    await store.close();

    server = NetNs.create();
    router = NetNs.create();
    direct = NetNs.create();
    rack1 = NetNs.create();
    server.addBridge('br0', '10.69.0.3/26');
    // Direct client: a veth from its namespace into the server's bridge.
    server.batch([`link add d0 type veth peer name eth0 netns ${direct.name}`, 'link set d0 master br0', 'link set d0 up']);
    direct.batch(['link set eth0 up']);
    // Router: one leg on rack 0 (10.69.0.1, the segment's gateway), one on rack 1 (10.69.0.193).
    server.batch([
      `link add r0 type veth peer name up0 netns ${router.name}`,
      'link set r0 master br0',
      'link set r0 up',
      'route add 10.69.0.192/26 via 10.69.0.1',
    ]);
    router.batch([
      'addr add 10.69.0.1/26 dev up0',
      'link set up0 up',
      `link add down0 type veth peer name eth0 netns ${rack1.name}`,
      'addr add 10.69.0.193/26 dev down0',
      'link set down0 up',
    ]);
    rack1.batch(['link set eth0 up']);
    await router.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);

    yagura = await startYagura();
    relay = router.spawn('dnsmasq', [
      '--no-daemon',
      '--port=0',
      '--no-resolv',
      '--no-hosts',
      '--log-dhcp',
      '--dhcp-relay=10.69.0.193,10.69.0.3',
      '--interface=down0',
      `--pid-file=${join(dir.path, 'dnsmasq.pid')}`,
    ]);
    await new Promise((r) => setTimeout(r, 500));
  });

  after(async () => {
    await yagura?.stop();
    await relay?.stop();
    for (const ns of [rack1, direct, router, server]) await ns?.remove();
    dir.remove();
  });

  it('gives a directly attached udhcpc a lease in its rack’s range, renews it and takes it back on release', async () => {
    const client = direct.spawn('udhcpc', ['-f', '-i', 'eth0', '-s', hook, '-t', '5', '-T', '2', '-A', '1']);
    try {
      const bound = await client.waitForOutput(
        /EVENT bound ip=(\S+) mask=(\S+) router=(\S+) lease=(\d+) server=(\S+) dns=(\S*)/,
        30000,
      );
      const address = bound[1]!;
      const last = Number(address.split('.')[3]);
      assert.ok(address.startsWith('10.69.0.') && last >= 32 && last <= 62, `rack 0 lease range is .32–.62, got ${address}`);
      assert.deepEqual(bound.slice(2), ['255.255.255.192', '10.69.0.1', '120', '10.69.0.3', '10.69.0.53']);
      // SIGUSR1: renew now (a unicast REQUEST from the bound address).
      client.child.kill('SIGUSR1');
      const renewed = await client.waitForOutput(/EVENT renew ip=(\S+)/, 20000);
      assert.equal(renewed[1], address, 'the renewal keeps the address');
      // SIGUSR2: release.
      client.child.kill('SIGUSR2');
      await client.waitForOutput(/EVENT deconfig/, 10000);
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await client.stop();
    }
    const store = await openReadOnly();
    try {
      const leases = await new DhcpLeaseRepository(store).inRange({ first: 0x0a450020, last: 0x0a45003e });
      assert.equal([...leases.values()].filter((l) => l.record.state === 'bound').length, 0, 'the released lease is gone');
    } finally {
      await store.close();
    }
  });

  it('serves ISC dhclient through a dnsmasq relay with an address in the relay’s rack', async () => {
    const leaseFile = join(dir.path, 'dhclient.leases');
    const result = await rack1
      .exec('dhclient', ['-1', '-v', '-sf', hook, '-lf', leaseFile, '-pf', join(dir.path, 'dhclient.pid'), 'eth0'], 30000)
      .catch((error: { stdout?: string; stderr?: string }) => error);
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
    const bound = /EVENT BOUND ip=(\S+) mask=(\S+) router=(\S+) lease=(\d+) server=(\S+)/.exec(output);
    assert.ok(bound, `dhclient did not bind:\n${output}`);
    const last = Number(bound[1]!.split('.')[3]);
    assert.ok(bound[1]!.startsWith('10.69.0.') && last >= 224 && last <= 254, `rack 1 lease range is .224–.254, got ${bound[1]}`);
    assert.deepEqual(bound.slice(2), ['255.255.255.192', '10.69.0.193', '120', '10.69.0.3']);
    await rack1
      .exec('dhclient', ['-r', '-sf', hook, '-lf', leaseFile, '-pf', join(dir.path, 'dhclient.pid'), 'eth0'], 30000)
      .catch(() => undefined);
  });

  async function startYagura(): Promise<ProcessInNamespace> {
    const started = server.spawn(process.execPath, [
      YAGURA,
      'serve',
      '--data-dir',
      dataDir,
      '--listen',
      '10.69.0.3:10080',
      '--dhcp-listen',
      '0.0.0.0:67',
    ]);
    await started.waitForOutput(/"serving"/, 20000);
    return started;
  }

  async function openReadOnly() {
    // The server owns the data dir; stop it briefly to read its leases, then start it again.
    await yagura.stop();
    const store = await openEmbeddedStore({ dataDir });
    const close = store.close.bind(store);
    store.close = async () => {
      await close();
      yagura = await startYagura();
    };
    return store;
  }
});
