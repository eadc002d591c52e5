/**
 * The inventory API against a running server, run unchanged on both store
 * backends (inventory-api-embedded.test.ts, inventory-api-etcd.test.ts).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { hashToken, TokenTable } from '../../src/api/auth.js';
import type { AuditRecord } from '../../src/inventory/audit.js';
import { MACHINE_STATES, type Machine, type MachineState } from '../../src/inventory/model.js';
import type { Store } from '../../src/store/interface.js';
import { call, startApi, type TestServer } from '../helpers/api-server.js';
import { EXAMPLE_IPAM } from '../fixtures/ipam.js';

export interface InventoryFixture {
  name: string;
  /** A fresh, empty store. */
  open(): Promise<Store>;
  /** Releases what open() made. */
  cleanup(): Promise<void>;
}

const bmc = { type: 'IPMI-2.0' };
const spec = (serial: string, rack: number, role = 'worker', extra: Record<string, unknown> = {}) => ({
  serial,
  rack,
  role,
  bmc,
  ...extra,
});

/** A way from uninitialized to each state, through allowed transitions. */
const PATH_TO: Record<MachineState, MachineState[]> = {
  uninitialized: [],
  healthy: ['healthy'],
  unhealthy: ['healthy', 'unhealthy'],
  unreachable: ['healthy', 'unreachable'],
  updating: ['healthy', 'updating'],
  retiring: ['retiring'],
  retired: ['retiring', 'retired'],
};

export function inventoryApiSuite(fixture: InventoryFixture): void {
  describe(`inventory API on ${fixture.name}`, () => {
    let store: Store;
    let server: TestServer;
    let url: string;
    const get = (path: string, headers?: Record<string, string>) => call(url, 'GET', path, undefined, headers);
    const put = (path: string, body: unknown, headers?: Record<string, string>) => call(url, 'PUT', path, body, headers);
    const post = (path: string, body: unknown, headers?: Record<string, string>) => call(url, 'POST', path, body, headers);
    const del = (path: string, headers?: Record<string, string>) => call(url, 'DELETE', path, undefined, headers);
    const machines = async (query = '') => (await get(`/api/v1/machines${query}`)).body as Machine[];
    const auditRecords = async () =>
      (await get('/api/v1/logs')).text
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as AuditRecord);

    before(async () => {
      store = await fixture.open();
      server = await startApi(store);
      url = server.url;
    });
    after(async () => {
      await server?.close();
      await store?.close();
      await fixture.cleanup();
    });

    it('refuses registration before IPAM exists, and an invalid IPAM naming the field', async () => {
      const early = await post('/api/v1/machines', [spec('early', 0)]);
      assert.equal(early.status, 409);
      assert.match((early.body as { error: string }).error, /IPAM is not configured/);
      const bad = await put('/api/v1/config/ipam', { ...EXAMPLE_IPAM, 'node-ipv4-pool': '10.69.0.1/16' });
      assert.equal(bad.status, 400);
      assert.equal((bad.body as { field: string }).field, 'node-ipv4-pool');
      const unknown = await put('/api/v1/config/ipam', { ...EXAMPLE_IPAM, 'node-ipv4-poool': 'x' });
      assert.deepEqual(unknown.body, { error: 'unknown field node-ipv4-poool', field: 'node-ipv4-poool' });
      const missing = await put('/api/v1/config/ipam', { ...EXAMPLE_IPAM, 'max-nodes-in-rack': undefined });
      assert.equal((missing.body as { field: string }).field, 'max-nodes-in-rack');
      assert.equal((await get('/api/v1/config/ipam')).status, 404);
      assert.equal((await put('/api/v1/config/ipam', EXAMPLE_IPAM)).status, 200);
      assert.deepEqual((await get('/api/v1/config/ipam')).body, EXAMPLE_IPAM);
    });

    it('assigns indices and addresses as sabakan does: the reference example comes out exactly', async () => {
      const created = await post('/api/v1/machines', [
        spec('ex-boot', 1, 'boot'),
        spec('ex-4', 1),
        spec('ex-5', 1, 'worker', { labels: { product: 'R640' }, 'retire-date': '2031-04-01T00:00:00Z' }),
      ]);
      assert.equal(created.status, 201);
      const [m] = await machines('?serial=ex-5');
      assert.equal(m!.spec['index-in-rack'], 5);
      assert.deepEqual(m!.spec.ipv4, ['10.69.0.197', '10.69.1.5', '10.69.1.69']);
      assert.equal(m!.spec.bmc.ipv4, '10.72.17.37');
      assert.deepEqual(m!.info.network.ipv4[2], {
        address: '10.69.1.69',
        netmask: '255.255.255.192',
        maskbits: 26,
        gateway: '10.69.1.65',
      });
      assert.equal(m!.spec['retire-date'], '2031-04-01T00:00:00.000Z');
      assert.equal(m!.status.state, 'uninitialized');
      assert.ok(typeof m!.status.duration === 'number' && m!.status.duration >= 0);
      const boot = (await machines('?serial=ex-boot'))[0]!;
      assert.equal(boot.spec['index-in-rack'], 3);
    });

    it('registers a batch all or nothing: duplicate serial, second boot server, full rack, bad field', async () => {
      const before = (await machines()).length;
      const auditBefore = (await auditRecords()).length;
      const cases: [unknown[], number, RegExp, string?][] = [
        [[spec('dup-ok', 2), spec('ex-4', 2)], 409, /machine ex-4 is already registered/, '[1].serial'],
        [[spec('b-ok', 2), spec('b-ok', 3)], 409, /appears twice/, '[1].serial'],
        [[spec('boot2-ok', 2), spec('boot2', 1, 'boot')], 409, /rack 1 already has a boot server/, '[1].rack'],
        [[spec('bad-ok', 2), { ...spec('bad', 2), bmc: { type: 'no spaces' } }], 400, /bmc.type|must match/, '[1].bmc.type'],
        [[spec('ip-ok', 2), { ...spec('ip', 2), ipv4: ['10.0.0.1'] }], 400, /assigned by the server/, '[1].ipv4'],
        [[spec('far', 500)], 400, /rack 500 is beyond/, '[0].rack'],
        [[], 400, /empty/],
      ];
      for (const [batch, status, message, field] of cases) {
        const response = await post('/api/v1/machines', batch);
        assert.equal(response.status, status, JSON.stringify(response.body));
        assert.match((response.body as { error: string }).error, message);
        if (field) assert.equal((response.body as { field: string }).field, field);
      }
      const full = Array.from({ length: 29 }, (_, i) => spec(`full-${i}`, 9));
      const overfull = await post('/api/v1/machines', full);
      assert.equal(overfull.status, 409);
      assert.match((overfull.body as { error: string }).error, /rack 9 is full/);
      assert.equal((await machines()).length, before, 'nothing registered by failed batches');
      assert.equal((await auditRecords()).length, auditBefore, 'nothing audited for failed batches');
      // sabakan clients send the computed fields zero-valued: accepted.
      const sabactl = await post('/api/v1/machines', [
        { ...spec('sabactl-1', 2), 'index-in-rack': 0, ipv4: null, ipv6: null, bmc: { type: 'IPMI-2.0', ipv4: '', ipv6: '' } },
      ]);
      assert.equal(sabactl.status, 201);
    });

    it('follows sabakan’s transition table for every pair of states, naming both states when refused', async () => {
      for (const from of MACHINE_STATES) {
        const rack = 10 + MACHINE_STATES.indexOf(from);
        const batch = MACHINE_STATES.map((to) => spec(`tr-${from}-${to}`, rack));
        assert.equal((await post('/api/v1/machines', batch)).status, 201);
        for (const to of MACHINE_STATES) {
          const serial = `tr-${from}-${to}`;
          for (const step of PATH_TO[from])
            assert.equal((await put(`/api/v1/state/${serial}`, step)).status, 200, `${serial}: ${step}`);
          const response = await put(`/api/v1/state/${serial}`, to);
          const state = (await get(`/api/v1/state/${serial}`)).text;
          const allowed = from === to || (await import('../../src/inventory/model.js')).TRANSITIONS[from].includes(to);
          if (allowed) {
            assert.equal(response.status, 200, `${from} -> ${to}: ${JSON.stringify(response.body)}`);
            assert.equal(state, to);
          } else {
            assert.equal(response.status, 409, `${from} -> ${to}`);
            assert.match((response.body as { error: string }).error, new RegExp(`from ${from} to ${to} is forbidden`));
            assert.equal(state, from);
          }
        }
      }
      const unknown = await put('/api/v1/state/tr-healthy-healthy', 'sleeping');
      assert.equal(unknown.status, 400);
      assert.equal((unknown.body as { field: string }).field, 'state');
      assert.equal((await put('/api/v1/state/nobody', 'healthy')).status, 404);
    });

    it('escrows disk keys create-only and blocks retirement until they are deleted while retiring', async () => {
      await post('/api/v1/machines', [spec('crypt-1', 3)]);
      const key = Buffer.from([0, 1, 2, 255, 254]);
      assert.equal((await put('/api/v1/crypts/crypt-1/aa01', key)).status, 201);
      assert.equal((await put('/api/v1/crypts/crypt-1/bb02', Buffer.from('second'))).status, 201);
      const again = await put('/api/v1/crypts/crypt-1/aa01', Buffer.from('other'));
      assert.equal(again.status, 409);
      const fetched = await fetch(`${url}/api/v1/crypts/crypt-1/aa01`);
      assert.deepEqual(Buffer.from(await fetched.arrayBuffer()), key);
      assert.equal((await del('/api/v1/crypts/crypt-1')).status, 409, 'keys can be deleted only while retiring');
      assert.equal((await put('/api/v1/state/crypt-1', 'retiring')).status, 200);
      assert.equal((await put('/api/v1/crypts/crypt-1/cc03', Buffer.from('late'))).status, 409, 'no new keys once retiring');
      const blocked = await put('/api/v1/state/crypt-1', 'retired');
      assert.equal(blocked.status, 409);
      assert.match((blocked.body as { error: string }).error, /still has disk encryption keys/);
      const deleted = await del('/api/v1/crypts/crypt-1');
      assert.deepEqual(deleted.body, ['aa01', 'bb02']);
      assert.equal((await put('/api/v1/state/crypt-1', 'retired')).status, 200);
      assert.equal((await put('/api/v1/crypts/nobody/aa', Buffer.from('x'))).status, 404);
      const big = await put('/api/v1/crypts/crypt-1/huge', Buffer.alloc(5000, 1));
      assert.equal(big.status, 413);
    });

    it('removes only retired machines and frees their index for the next registration', async () => {
      await post('/api/v1/machines', [spec('rm-1', 4), spec('rm-2', 4)]);
      const first = (await machines('?serial=rm-1'))[0]!;
      const refused = await del('/api/v1/machines/rm-1');
      assert.equal(refused.status, 409);
      assert.match((refused.body as { error: string }).error, /only retired machines can be removed; rm-1 is uninitialized/);
      await put('/api/v1/state/rm-1', 'retiring');
      await put('/api/v1/state/rm-1', 'retired');
      assert.equal((await del('/api/v1/machines/rm-1')).status, 200);
      assert.deepEqual(await machines('?serial=rm-1'), []);
      await post('/api/v1/machines', [spec('rm-3', 4)]);
      const reused = (await machines('?serial=rm-3'))[0]!;
      assert.equal(reused.spec['index-in-rack'], first.spec['index-in-rack']);
      assert.deepEqual(reused.spec.ipv4, first.spec.ipv4);
      assert.equal((await del('/api/v1/machines/rm-1')).status, 404);
    });

    it('searches with sabakan’s parameters: OR within, AND across, labels, without- forms, empty is 200 []', async () => {
      await post('/api/v1/machines', [
        spec('s-1', 5, 'worker', { labels: { product: 'R640', dc: 'tokyo' } }),
        spec('s-2', 5, 'ss', { labels: { product: 'R650', dc: 'tokyo' } }),
        spec('s-3', 6, 'worker', { labels: { product: 'R640', dc: 'osaka' } }),
      ]);
      await put('/api/v1/state/s-1', 'healthy');
      const serials = async (query: string) => (await machines(query)).map((m) => m.spec.serial);
      assert.deepEqual(await serials('?rack=5,6&role=worker'), ['s-1', 's-3']);
      assert.deepEqual(await serials('?labels=product=R640,dc=tokyo'), ['s-1']);
      assert.deepEqual(await serials('?rack=5,6&without-labels=product=R640,dc=tokyo'), ['s-2', 's-3']);
      assert.deepEqual(await serials('?rack=5&without-state=healthy'), ['s-2']);
      assert.deepEqual(await serials('?rack=5,6&state=healthy,uninitialized&without-role=ss'), ['s-1', 's-3']);
      assert.deepEqual(await serials(`?ipv4=${(await machines('?serial=s-3'))[0]!.spec.ipv4[1]}`), ['s-3']);
      assert.deepEqual(await serials('?bmc-type=IPMI-2.0&rack=6'), ['s-3']);
      const none = await get('/api/v1/machines?rack=77');
      assert.equal(none.status, 200);
      assert.deepEqual(none.body, []);
      const contradiction = await get('/api/v1/machines?state=healthy&without-state=healthy');
      assert.equal(contradiction.status, 400);
      assert.equal((await get('/api/v1/machines?colour=red')).status, 400);
    });

    it('sets and removes labels and the retire date, validating values', async () => {
      await post('/api/v1/machines', [spec('lbl-1', 7)]);
      assert.equal((await put('/api/v1/labels/lbl-1/topology.example.com/zone', 'z1')).status, 404, 'a slash splits the path');
      assert.equal((await put('/api/v1/labels/lbl-1/zone', 'z1')).status, 200);
      assert.equal((await put('/api/v1/labels/lbl-1/zone', 'has space')).status, 400);
      assert.deepEqual((await machines('?serial=lbl-1'))[0]!.spec.labels, { zone: 'z1' });
      assert.equal((await del('/api/v1/labels/lbl-1/zone')).status, 200);
      assert.equal((await del('/api/v1/labels/lbl-1/zone')).status, 404);
      assert.equal((await put('/api/v1/retire-date/lbl-1', '2030-12-31T00:00:00+09:00')).status, 200);
      assert.equal((await machines('?serial=lbl-1'))[0]!.spec['retire-date'], '2030-12-30T15:00:00.000Z');
      const bad = await put('/api/v1/retire-date/lbl-1', 'next year');
      assert.equal(bad.status, 400);
      assert.equal((bad.body as { field: string }).field, 'retire-date');
    });

    it('refuses to change IPAM while machines exist, with the reason', async () => {
      const response = await put('/api/v1/config/ipam', { ...EXAMPLE_IPAM, 'node-gateway-offset': 2 });
      assert.equal(response.status, 409);
      assert.match((response.body as { error: string }).error, /IPAM cannot change while machines are registered/);
      assert.deepEqual((await get('/api/v1/config/ipam')).body, EXAMPLE_IPAM);
    });

    it('validates and stores the DHCP config', async () => {
      assert.deepEqual((await get('/api/v1/config/dhcp')).body, { 'lease-minutes': 60, 'dns-servers': [] });
      const bad = await put('/api/v1/config/dhcp', { 'lease-minutes': 30, 'dns-servers': ['8.8.8.800'] });
      assert.equal(bad.status, 400);
      assert.equal((bad.body as { field: string }).field, 'dns-servers[0]');
      assert.equal((await put('/api/v1/config/dhcp', { 'lease-minutes': 30, 'dns-servers': ['10.0.0.53'] })).status, 200);
      assert.deepEqual((await get('/api/v1/config/dhcp')).body, { 'lease-minutes': 30, 'dns-servers': ['10.0.0.53'] });
    });

    it('audits every change in the same transaction, with the change’s revision, and nothing for refused ones', async () => {
      await post('/api/v1/machines', [spec('aud-1', 8)], { 'X-Sabakan-User': 'alice' });
      const before = await auditRecords();
      assert.equal((await put('/api/v1/state/aud-1', 'retired', { 'X-Sabakan-User': 'alice' })).status, 409);
      assert.equal((await put('/api/v1/state/aud-1', 'healthy', { 'X-Sabakan-User': 'alice' })).status, 200);
      assert.equal((await put('/api/v1/state/aud-1', 'healthy')).status, 200, 'same state: a no-op');
      const records = await auditRecords();
      assert.equal(records.length, before.length + 1, 'exactly one record: the refused and the no-op change wrote none');
      const record = records.at(-1)!;
      assert.deepEqual(
        {
          user: record.user,
          ip: record.ip,
          category: record.category,
          instance: record.instance,
          action: record.action,
          detail: record.detail,
        },
        {
          user: 'alice',
          ip: '127.0.0.1',
          category: 'machines',
          instance: 'aud-1',
          action: 'state',
          detail: 'uninitialized -> healthy',
        },
      );
      const kv = await store.get('machines/aud-1');
      assert.equal(record.rev, kv!.modRevision, 'the record carries the revision of the change itself');
      const registered = before.find((r) => r.action === 'register' && r.instance === 'aud-1')!;
      assert.equal(registered.rev, kv!.createRevision);
      const today = new Date().toISOString().slice(0, 10).replaceAll('-', '');
      assert.equal((await get(`/api/v1/logs?since=${today}`)).text.trim().split('\n').length, records.length);
      assert.equal((await get(`/api/v1/logs?until=${today}`)).text, '');
      const badDate = await get('/api/v1/logs?since=20261399');
      assert.equal(badDate.status, 400);
      assert.equal((badDate.body as { field: string }).field, 'since');
    });

    it('exposes metrics, OpenAPI and health', async () => {
      const metrics = (await get('/metrics')).text;
      assert.match(metrics, /yagura_machine_state\{serial="aud-1",rack="8",role="worker",state="healthy"\} 1/);
      assert.match(metrics, /yagura_api_requests_total\{method="PUT",route="\/api\/v1\/state\/:serial",code="200"\}/);
      const openapi = (await get('/openapi.json')).body as { paths: Record<string, unknown> };
      assert.ok(openapi.paths['/api/v1/machines'] && openapi.paths['/api/v1/config/ipam']);
      assert.equal((await get('/health')).status, 200);
    });

    it('never answers random or malformed input with a 5xx (property-based)', async () => {
      const paths = [
        '/api/v1/machines',
        '/api/v1/state/ex-4',
        '/api/v1/labels/ex-4/x',
        '/api/v1/retire-date/ex-4',
        '/api/v1/config/ipam',
        '/api/v1/config/dhcp',
        '/api/v1/crypts/ex-4/p',
        '/api/v1/logs',
      ];
      const body = fc.oneof(
        fc.json(),
        fc.string(),
        fc.array(
          fc.record(
            {
              serial: fc.string(),
              rack: fc.oneof(fc.integer(), fc.string(), fc.double()),
              role: fc.string(),
              bmc: fc.anything(),
            },
            { requiredKeys: [] },
          ),
        ),
        fc.record(
          {
            'max-nodes-in-rack': fc.integer(),
            'node-ipv4-pool': fc.string(),
            'lease-minutes': fc.double(),
            'dns-servers': fc.array(fc.string()),
          },
          { requiredKeys: [] },
        ),
      );
      const query = fc.dictionary(
        fc.constantFrom('rack', 'state', 'labels', 'without-labels', 'serial', 'since', 'until', 'x'),
        fc.string(),
        { maxKeys: 3 },
      );
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('GET', 'PUT', 'POST', 'DELETE'),
          fc.constantFrom(...paths),
          body,
          query,
          async (method, path, payload, params) => {
            const qs = new URLSearchParams(params).toString();
            const response = await call(
              url,
              method,
              `${path}${qs ? `?${qs}` : ''}`,
              method === 'GET' || method === 'DELETE' ? undefined : payload,
            );
            assert.ok(
              response.status < 500,
              `${method} ${path}?${qs} ${JSON.stringify(payload)} → ${response.status} ${response.text}`,
            );
          },
        ),
        { numRuns: 300 },
      );
      // Garbage that is not JSON at all, with a JSON content type.
      const raw = await fetch(`${url}/api/v1/machines`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"serial": ',
      });
      assert.equal(raw.status, 400);
      assert.equal(((await raw.json()) as { field: string }).field, 'body');
    });

    it('keeps every large answer intact while others go out at once and one client reads slowly', async () => {
      // Answers are built in reused memory. The slow reader's answer is larger than the kernel
      // buffers on both ends of the connection, so its tail is still in that memory while the
      // others are built; if that memory were reused too early, the tail would be overwritten.
      const kernelBuffers = tcpBufferLimit();
      const padding = Object.fromEntries(
        Array.from({ length: 24 }, (_, k) => [`padding-${k}-`.padEnd(63, 'y'), `${k}`.padEnd(63, 'x')]),
      );
      const serialsIn = (rack: number) => Array.from({ length: 25 }, (_, i) => `bulk-${rack}-${i}`);
      const racks: number[] = [];
      for (let rack = 30; rack < 120; rack++) {
        const batch = serialsIn(rack).map((s) =>
          spec(s, rack, 'worker', { labels: { bulk: 'yes', group: `g${rack % 5}`, ...padding } }),
        );
        assert.equal((await post('/api/v1/machines', batch)).status, 201);
        racks.push(rack);
      }
      const everyBulk = racks.flatMap(serialsIn).sort();

      const slow = await slowReader(url, '/api/v1/machines?labels=bulk=yes');
      const others = [
        // As large as the slow answer, but different at every offset after the first rack.
        { query: `?labels=bulk=yes&without-rack=${racks[0]}`, expected: racks.slice(1).flatMap(serialsIn) },
        ...racks.slice(0, 10).map((rack) => ({ query: `?rack=${rack}`, expected: serialsIn(rack) })),
        ...[0, 1, 2, 3, 4].map((g) => ({
          query: `?labels=group=g${g}`,
          expected: racks.filter((rack) => rack % 5 === g).flatMap(serialsIn),
        })),
      ];
      for (let round = 0; round < 2; round++) {
        await Promise.all(
          others.map(async ({ query, expected }) => {
            const found = await machines(query);
            assert.deepEqual(found.map((m) => m.spec.serial).sort(), [...expected].sort(), query);
          }),
        );
      }
      const body = await slow.readAll();
      assert.ok(body.length > 1.5 * kernelBuffers, `the slow answer (${body.length} bytes) must outgrow the kernel's buffers`);
      const answer = JSON.parse(body) as Machine[];
      assert.deepEqual(answer.map((m) => m.spec.serial).sort(), everyBulk);
      assert.ok(answer.every((m) => m.spec.labels.bulk === 'yes' && m.status.state === 'uninitialized'));
    });
  });

  describe(`inventory API access control on ${fixture.name}`, () => {
    let store: Store;
    let server: TestServer;
    before(async () => {
      store = await fixture.open();
      // The test client (127.0.0.1) is not in the allow list here.
      server = await startApi(store, {
        allowed: (await import('../../src/api/auth.js')).AllowList.parse('192.0.2.0/24'),
        tokens: new TokenTable(new Map([[hashToken('t0ken-ops'), 'ops-bot']])),
      });
    });
    after(async () => {
      await server?.close();
      await store?.close();
      await fixture.cleanup();
    });

    it('lets anyone read, refuses changes from other addresses, and accepts a valid token as its named user', async () => {
      assert.equal((await call(server.url, 'GET', '/api/v1/machines')).status, 200);
      const refused = await call(server.url, 'PUT', '/api/v1/config/ipam', EXAMPLE_IPAM);
      assert.equal(refused.status, 403);
      assert.match((refused.body as { error: string }).error, /changes from 127\.0\.0\.1 need a bearer token/);
      const wrong = await call(server.url, 'PUT', '/api/v1/config/ipam', EXAMPLE_IPAM, { authorization: 'Bearer guess' });
      assert.equal(wrong.status, 401);
      const ok = await call(server.url, 'PUT', '/api/v1/config/ipam', EXAMPLE_IPAM, {
        authorization: 'Bearer t0ken-ops',
        'X-Sabakan-User': 'mallory',
      });
      assert.equal(ok.status, 200);
      const log = (await call(server.url, 'GET', '/api/v1/logs')).text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as AuditRecord);
      assert.equal(log.at(-1)!.user, 'ops-bot', 'the token’s name, not the claimed header, is the audit user');
      assert.doesNotMatch(log.map((r) => JSON.stringify(r)).join(''), /t0ken-ops/, 'no secret in the audit log');
      // Machines escrow their own disk keys without a token, as with sabakan.
      await call(server.url, 'POST', '/api/v1/machines', [spec('acl-1', 0)], { authorization: 'Bearer t0ken-ops' });
      assert.equal((await call(server.url, 'PUT', '/api/v1/crypts/acl-1/k', Buffer.from('key'))).status, 201);
      assert.equal((await call(server.url, 'DELETE', '/api/v1/crypts/acl-1')).status, 403);
    });
  });

  describe(`inventory API with protected reads on ${fixture.name}`, () => {
    let store: Store;
    let server: TestServer;
    before(async () => {
      store = await fixture.open();
      server = await startApi(store, {
        allowed: (await import('../../src/api/auth.js')).AllowList.parse('192.0.2.1'),
        protectReads: true,
        tokens: new TokenTable(new Map([[hashToken('reader'), 'dashboard']])),
      });
    });
    after(async () => {
      await server?.close();
      await store?.close();
      await fixture.cleanup();
    });

    it('needs a token for reads too', async () => {
      assert.equal((await call(server.url, 'GET', '/api/v1/machines')).status, 403);
      assert.equal(
        (await call(server.url, 'GET', '/api/v1/machines', undefined, { authorization: 'Bearer reader' })).status,
        200,
      );
    });
  });
}

/**
 * A raw HTTP/1.1 GET whose reader stays paused until readAll(), so the
 * server's answer waits in the kernel's buffers; readAll() gives the body.
 */
async function slowReader(base: string, path: string): Promise<{ readAll(): Promise<string> }> {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.pause();
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`);
  return {
    readAll: async () => {
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.resume();
      await once(socket, 'end');
      const response = Buffer.concat(chunks).toString();
      const headerEnd = response.indexOf('\r\n\r\n');
      assert.match(response.slice(0, headerEnd), /^HTTP\/1\.1 200 /);
      assert.match(response.slice(0, headerEnd), /content-length: \d+/i);
      return response.slice(headerEnd + 4);
    },
  };
}

/** The most a loopback connection can hold unread: the sender's largest send buffer plus the receiver's initial receive buffer. */
function tcpBufferLimit(): number {
  const field = (file: string, i: number) => Number(readFileSync(`/proc/sys/net/ipv4/${file}`, 'utf8').trim().split(/\s+/)[i]);
  return field('tcp_wmem', 2) + field('tcp_rmem', 1);
}
