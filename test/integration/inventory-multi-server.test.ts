/** Several `yagura serve` processes on one etcd act as one inventory. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Machine } from '../../src/inventory/model.js';
import { call } from '../helpers/api-server.js';
import { RunningYagura } from '../helpers/cli.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
import { freePort } from '../helpers/ports.js';
import { EXAMPLE_IPAM } from '../fixtures/ipam.js';

describe('three yagura serve processes on one etcd', () => {
  let cluster: EtcdCluster;
  const servers: RunningYagura[] = [];
  const urls: string[] = [];

  before(async () => {
    cluster = await EtcdCluster.start(1);
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      servers.push(
        new RunningYagura([
          'serve',
          '--listen',
          `127.0.0.1:${port}`,
          '--store',
          'etcd',
          '--etcd-endpoints',
          cluster.endpoints[0]!,
          '--etcd-prefix',
          '/multi/',
        ]),
      );
      urls.push(`http://127.0.0.1:${port}`);
    }
    await Promise.all(servers.map((s) => s.waitFor('"serving"')));
    assert.equal((await call(urls[0]!, 'PUT', '/api/v1/config/ipam', EXAMPLE_IPAM)).status, 200);
  });
  after(async () => {
    for (const server of servers) assert.equal(await server.stop(), 0);
    await cluster?.stop();
  });

  it('shows a write made through one server in a read through another at once', async () => {
    assert.equal(
      (
        await call(urls[0]!, 'POST', '/api/v1/machines', [
          { serial: 'ryw-1', rack: 1, role: 'worker', bmc: { type: 'IPMI-2.0' } },
        ])
      ).status,
      201,
    );
    for (let i = 0; i < 60; i++) {
      const writer = urls[i % 3]!;
      const reader = urls[(i + 1) % 3]!;
      assert.equal((await call(writer, 'PUT', `/api/v1/labels/ryw-1/seq`, String(i))).status, 200);
      const found = (await call(reader, 'GET', `/api/v1/machines?labels=seq=${i}`)).body as Machine[];
      assert.deepEqual(
        found.map((m) => m.spec.serial),
        ['ryw-1'],
        `write ${i} through server ${i % 3} not yet visible through server ${(i + 1) % 3}`,
      );
      const state = i % 2 === 0 ? 'healthy' : 'unhealthy';
      assert.equal((await call(writer, 'PUT', '/api/v1/state/ryw-1', state)).status, 200);
      assert.equal((await call(reader, 'GET', '/api/v1/state/ryw-1')).text, state);
    }
  });

  it('never gives two machines the same index or address when many clients register into one rack through different servers', async () => {
    const clients = 40; // for a rack of 28
    const results = await Promise.all(
      Array.from({ length: clients }, (_, i) =>
        call(urls[i % 3]!, 'POST', '/api/v1/machines', [
          { serial: `race-${i}`, rack: 20, role: 'worker', bmc: { type: 'IPMI-2.0' } },
        ]),
      ),
    );
    const created = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status === 409);
    assert.equal(created.length, 28, `statuses: ${results.map((r) => r.status).join(',')}`);
    assert.equal(refused.length, clients - 28);
    for (const r of refused) assert.match((r.body as { error: string }).error, /rack 20 is full/);
    const rack = (await call(urls[2]!, 'GET', '/api/v1/machines?rack=20')).body as Machine[];
    assert.equal(rack.length, 28);
    assert.equal(new Set(rack.map((m) => m.spec['index-in-rack'])).size, 28, 'distinct indices');
    assert.equal(new Set(rack.flatMap((m) => m.spec.ipv4)).size, 28 * 3, 'distinct node addresses');
    assert.equal(new Set(rack.map((m) => m.spec.bmc.ipv4)).size, 28, 'distinct BMC addresses');
    assert.deepEqual(
      rack.map((m) => m.spec['index-in-rack']).sort((a, b) => a - b),
      Array.from({ length: 28 }, (_, i) => i + 4),
    );
  });
});
