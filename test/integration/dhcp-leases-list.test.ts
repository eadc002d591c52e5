/**
 * Listing the DHCP leases: GET /api/v1/dhcp/leases on a real boot server over
 * a real embedded store, and `yagura dhcp leases` (the built binary) against
 * it. The leases are written by the DhcpLeaseRepository the DHCP server uses
 * (offer, bind, decline); the expired one by a repository whose clock runs two
 * hours behind, so its lease ran out an hour ago.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AllowList } from '../../src/api/auth.js';
import type { LeaseListEntry } from '../../src/boot/dhcp/lease-view.js';
import { DhcpLeaseRepository, leaseKey } from '../../src/boot/dhcp/leases.js';
import { parseIPv4 } from '../../src/lib/ipv4.js';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import type { Store } from '../../src/store/interface.js';
import { call, startApi, type TestServer } from '../helpers/api-server.js';
import { assertOk, runYagura } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const ip = (text: string) => parseIPv4(text)!;
const HOUR = 3_600_000;
const LEASES = '/api/v1/dhcp/leases';

/** A table as the user sees it: rows of cells keyed by the header. */
function parseTable(stdout: string): Record<string, string>[] {
  const [header, ...rows] = stdout.trimEnd().split('\n');
  const names = header!.split(/\s{2,}/);
  return rows.map((row) => Object.fromEntries(row.split(/\s{2,}/).map((cell, i) => [names[i], cell])));
}

describe('DHCP lease listing', () => {
  const dir = tempDir('dhcp-leases-list');
  let store: Store;
  let server: TestServer;
  /** What the listing must show for each seeded lease, by address. */
  const expected = new Map<string, LeaseListEntry>();

  const yagura = (...args: string[]) =>
    runYagura([...args, '--server', server.url], { env: { YAGURA_TOKEN: undefined, YAGURA_CACERT: undefined } });
  const get = async (query = '') => {
    const response = await call(server.url, 'GET', `${LEASES}${query}`);
    assert.equal(response.status, 200, response.text);
    return response.body as LeaseListEntry[];
  };

  before(async () => {
    store = await openEmbeddedStore({ dataDir: dir.path });
    server = await startApi(store);
    const leases = new DhcpLeaseRepository(store);
    const iso = (ms: number) => new Date(ms).toISOString();
    // Written out of address order, with addresses whose text order is not their numeric order (.100 < .70 < .9).
    const bound = await leases.bind(ip('10.69.0.100'), '52:54:00:00:01:00', HOUR, 'node-100');
    assert.equal(bound.kind, 'ok');
    if (bound.kind === 'ok')
      expected.set('10.69.0.100', {
        address: '10.69.0.100',
        mac: '52:54:00:00:01:00',
        state: 'bound',
        expires: iso(bound.lease.expires),
        hostname: 'node-100',
      });
    const only = { first: ip('10.69.0.9'), last: ip('10.69.0.9') };
    const offered = await leases.offer(only, '52:54:00:00:00:09', undefined, 30_000);
    assert.equal(offered.kind, 'ok');
    if (offered.kind === 'ok')
      expected.set('10.69.0.9', {
        address: '10.69.0.9',
        mac: '52:54:00:00:00:09',
        state: 'offered',
        expires: iso(offered.lease.expires),
      });
    assert.equal((await leases.bind(ip('10.69.0.70'), '52:54:00:00:00:70', HOUR)).kind, 'ok');
    const before = Date.now();
    assert.equal(await leases.decline(ip('10.69.0.70'), '52:54:00:00:00:70', 10 * 60_000), true);
    const declined = (await leases.list()).leases.find((l) => l.address === ip('10.69.0.70'));
    assert.ok(declined && declined.expires >= before + 10 * 60_000);
    expected.set('10.69.0.70', {
      address: '10.69.0.70',
      mac: 'declined',
      state: 'declined',
      expires: iso(declined.expires),
    });
    const twoHoursAgo = new DhcpLeaseRepository(store, () => Date.now() - 2 * HOUR);
    const stale = await twoHoursAgo.bind(ip('10.69.0.33'), '52:54:00:00:00:33', HOUR, 'gone');
    assert.equal(stale.kind, 'ok');
    if (stale.kind === 'ok')
      expected.set('10.69.0.33', {
        address: '10.69.0.33',
        mac: '52:54:00:00:00:33',
        state: 'bound',
        expires: iso(stale.lease.expires),
        hostname: 'gone',
      });
  });
  after(async () => {
    await server?.close();
    await store?.close();
    dir.remove();
  });

  it('answers the current leases in numeric address order, with ISO expiry times', async () => {
    const listed = await get();
    assert.deepEqual(
      listed.map((l) => l.address),
      ['10.69.0.9', '10.69.0.70', '10.69.0.100'],
    );
    assert.deepEqual(listed, [expected.get('10.69.0.9'), expected.get('10.69.0.70'), expected.get('10.69.0.100')]);
    assert.deepEqual(await get('?all=false'), listed);
  });

  it('includes expired leases with ?all=true, still in address order', async () => {
    const listed = await get('?all=true');
    assert.deepEqual(
      listed.map((l) => l.address),
      ['10.69.0.9', '10.69.0.33', '10.69.0.70', '10.69.0.100'],
    );
    assert.deepEqual(listed[1], expected.get('10.69.0.33'));
    assert.ok(Date.parse((listed[1] as { expires: string }).expires) < Date.now(), 'the lease of .33 has expired');
  });

  it('refuses a bad or unknown query parameter with 400 naming it', async () => {
    const bad = await call(server.url, 'GET', `${LEASES}?all=yes`);
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.text, /all/);
    const unknown = await call(server.url, 'GET', `${LEASES}?state=bound`);
    assert.equal(unknown.status, 400, unknown.text);
    assert.match(unknown.text, /state/);
  });

  it('lists the others and flags each corrupt lease key, naming it, instead of failing', async () => {
    await store.put(leaseKey(ip('10.69.0.50')), '{"mac":"52:54:00:00:00:50","expires":"soon"}');
    await store.put('dhcp/leases/not-an-address', '{}');
    try {
      for (const query of ['', '?all=true']) {
        const listed = await get(query);
        const corrupt = listed.filter((l) => l.state === 'corrupt');
        assert.deepEqual(
          listed.map((l) => l.address ?? ('key' in l ? l.key : '')),
          [
            '10.69.0.9',
            ...(query ? ['10.69.0.33'] : []),
            '10.69.0.50',
            '10.69.0.70',
            '10.69.0.100',
            'dhcp/leases/not-an-address',
          ],
        );
        assert.equal(corrupt.length, 2);
        assert.deepEqual(
          corrupt.map((c) => ('key' in c ? c.key : '')),
          [leaseKey(ip('10.69.0.50')), 'dhcp/leases/not-an-address'],
        );
        assert.match(
          (corrupt[0] as { error: string }).error,
          /the store's value at dhcp\/leases\/0a450032 is not a valid DHCP lease \(expires: .*\); repair or delete that key/,
        );
        assert.match((corrupt[1] as { error: string }).error, /names no IPv4 address/);
      }

      const table = await yagura('dhcp', 'leases');
      assertOk(table);
      const rows = parseTable(table.stdout);
      assert.deepEqual(rows[1], { ADDRESS: '10.69.0.50', MAC: '-', STATE: 'corrupt', EXPIRES: '-', HOSTNAME: '-' });
      assert.deepEqual(rows.at(-1), {
        ADDRESS: 'dhcp/leases/not-an-address',
        MAC: '-',
        STATE: 'corrupt',
        EXPIRES: '-',
        HOSTNAME: '-',
      });
      const warnings = table.stderr.trim().split('\n');
      assert.equal(warnings.length, 2, table.stderr);
      assert.match(warnings[0]!, /^yagura: warning: the store's value at dhcp\/leases\/0a450032 is not a valid DHCP lease/);
      assert.match(warnings[1]!, /^yagura: warning: the store's key dhcp\/leases\/not-an-address names no IPv4 address/);
    } finally {
      await store.delete({ key: leaseKey(ip('10.69.0.50')) });
      await store.delete({ key: 'dhcp/leases/not-an-address' });
    }
    assert.equal((await get('?all=true')).length, 4);
  });

  it('yagura dhcp leases prints a table of the current leases, --all adds expired ones', async () => {
    const result = await yagura('dhcp', 'leases');
    assertOk(result);
    assert.equal(result.stderr, '');
    assert.match(result.stdout, /^ADDRESS\s+MAC\s+STATE\s+EXPIRES\s+HOSTNAME\n/);
    const row = (address: string) => {
      const lease = expected.get(address) as { mac: string; state: string; expires: string; hostname?: string };
      return { ADDRESS: address, MAC: lease.mac, STATE: lease.state, EXPIRES: lease.expires, HOSTNAME: lease.hostname ?? '-' };
    };
    assert.deepEqual(parseTable(result.stdout), [row('10.69.0.9'), row('10.69.0.70'), row('10.69.0.100')]);

    const all = await yagura('dhcp', 'leases', '--all');
    assertOk(all);
    assert.deepEqual(parseTable(all.stdout), [row('10.69.0.9'), row('10.69.0.33'), row('10.69.0.70'), row('10.69.0.100')]);
  });

  it('yagura dhcp leases -o json prints what the API answers', async () => {
    const json = await yagura('dhcp', 'leases', '-o', 'json');
    assertOk(json);
    assert.deepEqual(JSON.parse(json.stdout), await get());
    const all = await yagura('dhcp', 'leases', '--all', '-o', 'json');
    assertOk(all);
    assert.deepEqual(JSON.parse(all.stdout), await get('?all=true'));
    assert.equal((JSON.parse(all.stdout) as unknown[]).length, 4);
  });

  it('is in the OpenAPI document, with its query parameter', async () => {
    const doc = (await call(server.url, 'GET', '/openapi.json')).body as {
      paths: Record<string, { get?: { parameters?: { name: string; in: string }[] } }>;
    };
    const parameters = doc.paths[LEASES]?.get?.parameters ?? [];
    assert.deepEqual(
      parameters.map((p) => [p.in, p.name]),
      [['query', 'all']],
    );
  });

  it('needs read access when reads are protected', async () => {
    const guarded = await startApi(store, { allowed: AllowList.parse('192.0.2.1'), protectReads: true });
    try {
      assert.equal((await call(guarded.url, 'GET', LEASES)).status, 403);
      const refused = await runYagura(['dhcp', 'leases', '--server', guarded.url], { env: { YAGURA_TOKEN: undefined } });
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(refused.stderr, /^yagura: .*reads from .* need a bearer token/);
    } finally {
      await guarded.close();
    }
  });
});
