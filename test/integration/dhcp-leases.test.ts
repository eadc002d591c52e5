/** Leases under concurrency: several servers on one etcd never hand one address to two clients; leases survive restarts. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DhcpLeaseRepository } from '../../src/boot/dhcp/leases.js';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import { openStore } from '../../src/store/factory.js';
import type { Store } from '../../src/store/interface.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
import { tempDir } from '../helpers/temp.js';

const RANGE = { first: 0x0a450020, last: 0x0a45003e }; // 10.69.0.32–62: 31 addresses
const mac = (i: number) => `52:54:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

describe('DHCP leases on etcd shared by three servers', () => {
  let cluster: EtcdCluster;
  const stores: Store[] = [];
  before(async () => {
    cluster = await EtcdCluster.start(1);
    for (let i = 0; i < 3; i++)
      stores.push(await openStore({ backend: 'etcd', endpoints: cluster.endpoints, prefix: '/leases/' }));
  });
  after(async () => {
    for (const store of stores) await store.close();
    await cluster?.stop();
  });

  it('gives 40 clients booting at once in one rack 31 distinct addresses and tells the rest the pool is exhausted', async () => {
    const servers = stores.map((store) => new DhcpLeaseRepository(store));
    const results = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const leases = servers[i % 3]!;
        const offer = await leases.offer(RANGE, mac(i), undefined, 60_000);
        if (offer.kind !== 'ok') return offer.kind;
        const bound = await servers[(i + 1) % 3]!.bind(offer.lease.address, mac(i), 120_000);
        return bound.kind === 'ok' ? bound.lease.address : bound.kind;
      }),
    );
    const addresses = results.filter((r): r is number => typeof r === 'number');
    assert.equal(addresses.length, 31, `results: ${results.join(',')}`);
    assert.equal(new Set(addresses).size, 31, 'no address handed out twice');
    assert.ok(addresses.every((a) => a >= RANGE.first && a <= RANGE.last));
    assert.deepEqual([...new Set(results.filter((r) => typeof r !== 'number'))], ['exhausted']);
    // Each client keeps its own address when it asks again, through any server.
    const client = results.findIndex((r) => typeof r === 'number');
    const again = await servers[2]!.offer(RANGE, mac(client), undefined, 60_000);
    assert.equal(again.kind === 'ok' && again.lease.address, results[client]);
    const stolen = await servers[1]!.bind(results[client] as number, mac(99), 120_000);
    assert.equal(stolen.kind, 'taken');
  });
});

describe('DHCP leases on the embedded store', () => {
  it('survive a restart of the server', async () => {
    const dir = tempDir('leases');
    try {
      let store = await openEmbeddedStore({ dataDir: dir.path });
      const first = await new DhcpLeaseRepository(store).offer(RANGE, mac(1), undefined, 60_000);
      assert.equal(first.kind, 'ok');
      const address = first.kind === 'ok' ? first.lease.address : 0;
      await new DhcpLeaseRepository(store).bind(address, mac(1), 3_600_000);
      await store.close();
      store = await openEmbeddedStore({ dataDir: dir.path });
      try {
        const lease = await new DhcpLeaseRepository(store).get(address);
        assert.equal(lease?.mac, mac(1));
        assert.equal(lease?.state, 'bound');
        const renewed = await new DhcpLeaseRepository(store).offer(RANGE, mac(1), undefined, 60_000);
        assert.equal(
          renewed.kind === 'ok' && renewed.lease.address,
          address,
          'the client gets its address back after the restart',
        );
      } finally {
        await store.close();
      }
    } finally {
      dir.remove();
    }
  });
});
