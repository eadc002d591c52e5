/**
 * A corrupt or foreign value in the store (here: garbage put straight into a
 * real embedded store) gives a clear error naming its key, never a crash or a
 * silent wrong answer: the HTTP API answers 500 with the key in the body, the
 * machine cache leaves the value out and reports it while serving every other
 * machine, and the DHCP server fails that one exchange, counts and logs it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { type BootServer, startBootServer } from '../../src/server/boot-server.js';
import { Registry } from 'prom-client';
import { AllowList, TokenTable } from '../../src/api/auth.js';
import { leaseKey, DhcpLeaseRepository } from '../../src/boot/dhcp/leases.js';
import { DhcpMessageType, DhcpOption } from '../../src/boot/dhcp/options.js';
import { BootOp, encodeDhcpPacket } from '../../src/boot/dhcp/packet.js';
import { DhcpServer } from '../../src/boot/dhcp/server.js';
import { type Actor, auditCodec } from '../../src/inventory/audit.js';
import { ipamCodec, machineCodec } from '../../src/inventory/documents.js';
import { Inventory } from '../../src/inventory/inventory.js';
import { leaseRange } from '../../src/inventory/ipam.js';
import { formatIPv4, parseIPv4 } from '../../src/lib/ipv4.js';
import { CorruptDocumentError } from '../../src/store/codec.js';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import type { Store } from '../../src/store/interface.js';
import { call } from '../helpers/api-server.js';
import { tempDir } from '../helpers/temp.js';
import { EXAMPLE_IPAM } from '../fixtures/ipam.js';

const actor: Actor = { user: 'test', ip: '127.0.0.1' };
const machine = (serial: string) => ({ serial, rack: 0, role: 'worker', bmc: { type: 'IPMI-2.0' } });

/** A 500 whose body names `key`. */
function namesKey(response: { status: number; body: unknown }, key: string): void {
  assert.equal(response.status, 500, JSON.stringify(response.body));
  const error = (response.body as { error?: string }).error ?? '';
  assert.ok(error.includes(`the store's value at ${key} is not a valid`), error);
  assert.match(error, /repair or delete that key/);
}

describe('corrupt or foreign values in the store', () => {
  const dir = tempDir('corrupt-values');
  let store: Store;
  let inventory: Inventory;
  let server: BootServer;
  let url: string;
  const cacheErrors: ({ type?: string; key?: string } | undefined)[] = [];

  before(async () => {
    store = await openEmbeddedStore({ dataDir: dir.path });
    const setup = new Inventory(store);
    await setup.config.setIpam(EXAMPLE_IPAM, actor);
    await setup.machines.register(['GOOD-1', 'GOOD-2', 'GOOD-3'].map(machine), actor);
    // Present before the server starts: the mirror's first load meets it.
    await store.put('machines/BAD-1', '{"spec":{"serial":"BAD-1"}}');
    // The real boot server; its log is where an operator sees what the machine cache met.
    const log = new Writable({
      write(line: Buffer, _encoding, done) {
        const entry = JSON.parse(line.toString()) as { msg?: string; err?: { type?: string; key?: string } };
        if (entry.msg === 'machine cache error') cacheErrors.push(entry.err);
        done();
      },
    });
    server = await startBootServer({
      store: { opened: store },
      listen: { host: '127.0.0.1', port: 0 },
      httpCrypts: true,
      policy: { allowed: AllowList.parse('127.0.0.1/8,::1'), tokens: TokenTable.empty(), protectReads: false },
      logger: pino({ level: 'warn' }, log),
      dataDir: join(dir.path, 'files'),
      ipxeEfiPath: '/usr/lib/ipxe/ipxe.efi',
      replication: { start: false },
    });
    inventory = server.inventory;
    url = server.http.url;
  });
  after(async () => {
    await server?.stop();
    await store?.close();
    dir.remove();
  });

  it('answers 500 naming the key for a corrupt machine, and keeps serving the others', async () => {
    namesKey(await call(url, 'GET', '/api/v1/state/BAD-1'), 'machines/BAD-1');
    namesKey(await call(url, 'PUT', '/api/v1/labels/BAD-1/rack-role', 'x'), 'machines/BAD-1');
    namesKey(await call(url, 'GET', '/api/v1/machines?serial=BAD-1,GOOD-1'), 'machines/BAD-1');
    const all = await call(url, 'GET', '/api/v1/machines');
    assert.equal(all.status, 200);
    assert.deepEqual(
      (all.body as { spec: { serial: string } }[]).map((m) => m.spec.serial),
      ['GOOD-1', 'GOOD-2', 'GOOD-3'],
    );
    assert.equal((await call(url, 'GET', '/api/v1/state/GOOD-1')).text, 'uninitialized');
  });

  it('the machine cache reports a corrupt machine, leaves it out, and takes it back once repaired', async () => {
    assert.ok(cacheErrors.some((e) => e?.type === 'CorruptDocumentError' && e.key === 'machines/BAD-1'));
    assert.deepEqual(inventory.cache.corruptKeys, ['machines/BAD-1']);
    // A valid machine overwritten with a foreign value (another serial's document): it leaves the mirror at once.
    const good2 = (await store.get('machines/GOOD-2'))!;
    const foreign = good2.value.replace('"serial":"GOOD-2"', '"serial":"GOOD-9"');
    await store.put('machines/GOOD-2', foreign);
    await store.put('inventory/machines-changed', '');
    const search = await call(url, 'GET', '/api/v1/machines?serial=GOOD-2');
    namesKey(search, 'machines/GOOD-2');
    assert.match((search.body as { error: string }).error, /spec\.serial: GOOD-9 is not the serial its key names/);
    assert.equal(inventory.cache.get('GOOD-2'), undefined);
    assert.ok(cacheErrors.some((e) => e?.type === 'CorruptDocumentError' && e.key === 'machines/GOOD-2'));
    // Repaired: back in the mirror, no longer reported.
    await store.put('machines/GOOD-2', good2.value);
    await store.put('inventory/machines-changed', '');
    const repaired = await call(url, 'GET', '/api/v1/machines?serial=GOOD-2');
    assert.equal(repaired.status, 200);
    assert.equal((repaired.body as unknown[]).length, 1);
    assert.deepEqual(inventory.cache.corruptKeys, ['machines/BAD-1']);
  });

  it('answers 500 naming the key for corrupt IPAM and DHCP configs, and a valid PUT repairs DHCP', async () => {
    const ipam = (await store.get('config/ipam'))!.value;
    await store.put('config/ipam', '{"max-nodes-in-rack": "many"}');
    try {
      namesKey(await call(url, 'GET', '/api/v1/config/ipam'), 'config/ipam');
      namesKey(await call(url, 'POST', '/api/v1/machines', [machine('NEW-1')]), 'config/ipam');
      assert.equal(await store.get('machines/NEW-1'), undefined, 'nothing registered');
    } finally {
      await store.put('config/ipam', ipam);
    }
    await store.put('config/dhcp', 'lease-minutes=60');
    namesKey(await call(url, 'GET', '/api/v1/config/dhcp'), 'config/dhcp');
    assert.equal((await call(url, 'PUT', '/api/v1/config/dhcp', { 'lease-minutes': 30 })).status, 200);
    assert.deepEqual((await call(url, 'GET', '/api/v1/config/dhcp')).body, { 'lease-minutes': 30, 'dns-servers': [] });
  });

  it('answers 500 naming the key for a corrupt rack index list, disk key and audit record', async () => {
    await store.put('node-indices/7', '[1, "two"]');
    namesKey(await call(url, 'POST', '/api/v1/machines', [{ ...machine('NEW-2'), rack: 7 }]), 'node-indices/7');
    await store.delete({ key: 'node-indices/7' });

    await store.put('crypts/GOOD-1/disk0', 'not base64!');
    namesKey(await call(url, 'GET', '/api/v1/crypts/GOOD-1/disk0'), 'crypts/GOOD-1/disk0');

    await store.put('audit/20000101/0000000000000-deadbeef', '{"ts":"yesterday"}');
    namesKey(await call(url, 'GET', '/api/v1/logs?since=20000101&until=20000102'), 'audit/20000101/0000000000000-deadbeef');
  });

  it('answers 500 naming the key for corrupt Ignition and text templates', async () => {
    await store.put('ignitions/worker', '["1.0.0", "latest"]');
    namesKey(await call(url, 'GET', '/api/v1/ignitions/worker'), 'ignitions/worker');
    await store.put('ignitions/worker', '["1.0.0"]');
    await store.put('ignitions/worker/1.0.0', '{"template": [], "meta": {}}');
    namesKey(await call(url, 'GET', '/api/v1/ignitions/worker/1.0.0'), 'ignitions/worker/1.0.0');
    namesKey(await call(url, 'GET', '/api/v1/boot/ignitions/GOOD-1/1.0.0'), 'ignitions/worker/1.0.0');
    await store.put('templates/worker/cloud-init', '{"text": 42}');
    namesKey(await call(url, 'GET', '/api/v1/templates/worker/cloud-init'), 'templates/worker/cloud-init');
    namesKey(await call(url, 'GET', '/api/v1/boot/templates/GOOD-1/cloud-init'), 'templates/worker/cloud-init');
  });

  it('decodes what Yagura wrote to the very same JSON (the API answers decoded documents)', async () => {
    for (const kv of [
      (await store.get('machines/GOOD-1'))!,
      (await store.range({ prefix: 'audit/' })).kvs.at(-1)!, // the newest: a real record
      (await store.get('config/ipam'))!,
    ]) {
      const codec = kv.key.startsWith('machines/') ? machineCodec : kv.key.startsWith('audit/') ? auditCodec : ipamCodec;
      const { rev: _rev, ...decoded } = codec.decode(kv) as { rev?: number };
      assert.equal(JSON.stringify(decoded), kv.value, kv.key);
    }
  });

  it('never writes an invalid document: a machine that is not one is refused before the store sees it', () => {
    assert.throws(
      () => machineCodec.encode('machines/X', { spec: { serial: 'X' } } as never),
      /the store's value at machines\/X is not a valid machine/,
    );
  });

  it('DHCP fails only the exchange that meets a corrupt lease, counts and logs it, and keeps serving', async () => {
    const range = leaseRange(EXAMPLE_IPAM, parseIPv4('10.69.0.1')!);
    const corrupt = range.first + 1;
    const good = range.first + 2;
    await store.put(leaseKey(corrupt), '{"mac":"52:54:00:00:00:01","expires":"soon"}');
    const leases = new DhcpLeaseRepository(store);
    await assert.rejects(leases.bind(corrupt, '52:54:00:00:00:02', 60_000), (error: unknown) => {
      assert.ok(error instanceof CorruptDocumentError);
      assert.equal(error.key, leaseKey(corrupt));
      return true;
    });
    await leases.bind(good, '52:54:00:00:00:03', 60_000);

    const logLines: string[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write: (chunk: Buffer, _encoding, done) => {
          logLines.push(chunk.toString());
          done();
        },
      }),
    );
    const metrics = new Registry();
    const server = new DhcpServer({
      leases,
      config: async () => ({ ipam: EXAMPLE_IPAM, dhcp: { 'lease-minutes': 60, 'dns-servers': [] } }),
      listen: { host: '127.0.0.1', port: 0 },
      localAddress: () => parseIPv4('10.69.0.1'),
      bootUrls: () => ({ ipxeEfi: 'http://127.0.0.1/ipxe.efi', ipxeScript: 'http://127.0.0.1/ipxe' }),
      logger,
      metrics,
    });
    const ip = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n >>> 0);
      return b;
    };
    const packet = (type: DhcpMessageType, mac: string, ciaddr: number, options: Map<number, Buffer>) =>
      encodeDhcpPacket({
        op: BootOp.REQUEST,
        htype: 1,
        hlen: 6,
        hops: 0,
        xid: 1,
        secs: 0,
        broadcast: false,
        ciaddr,
        yiaddr: 0,
        siaddr: 0,
        giaddr: 0,
        chaddr: mac,
        sname: '',
        file: '',
        messageType: type,
        options,
      });
    // INIT-REBOOT for the corrupt address: binding it meets the corrupt lease.
    await server.receive(
      packet(DhcpMessageType.REQUEST, '52:54:00:00:00:02', 0, new Map([[DhcpOption.REQUESTED_IP, ip(corrupt)]])),
      { address: '0.0.0.0', port: 68 },
    );
    const dropped = (await metrics.getSingleMetric('yagura_dhcp_dropped_total')!.get()).values;
    assert.deepEqual(
      dropped.map((v) => [v.labels.reason, v.value]),
      [['internal-error', 1]],
    );
    const logged = logLines.map((line) => JSON.parse(line) as { msg: string; err?: { message: string } });
    assert.ok(
      logged.some((l) => l.msg === 'DHCP request failed' && l.err?.message.includes(leaseKey(corrupt))),
      logLines.join(''),
    );
    // The server goes on: a RELEASE of a good lease (no reply needed) frees it.
    await server.receive(packet(DhcpMessageType.RELEASE, '52:54:00:00:00:03', good, new Map()), {
      address: formatIPv4(good),
      port: 68,
    });
    assert.equal(await leases.get(good), undefined);
    assert.ok(await store.get(leaseKey(corrupt)), 'the corrupt lease is left for a person to look at');
  });
});
