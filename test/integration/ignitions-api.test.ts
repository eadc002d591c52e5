/**
 * Configuration templates over real HTTP against an in-process server, on
 * both store backends (embedded SQLite and a real etcd): versioning, upload
 * checks with the real ignition-validate, rendering for registered machines,
 * the iPXE script's config URL, and access control.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { AllowList, type AuthPolicy, hashToken, TokenTable } from '../../src/api/auth.js';
import { createMetrics } from '../../src/api/metrics.js';
import { buildApi } from '../../src/api/server.js';
import { ignitionValidator } from '../../src/boot/templates/ignition-validate.js';
import { TemplateRepository } from '../../src/boot/templates/repository.js';
import type { AuditRecord } from '../../src/inventory/audit.js';
import { Inventory } from '../../src/inventory/inventory.js';
import type { Machine } from '../../src/inventory/model.js';
import { openEmbeddedStore } from '../../src/store/embedded.js';
import { openStore } from '../../src/store/factory.js';
import type { Store } from '../../src/store/interface.js';
import { call } from '../helpers/api-server.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
import { tempDir } from '../helpers/temp.js';
import { EXAMPLE_IPAM } from '../fixtures/ipam.js';

const LOOPBACK: AuthPolicy = { allowed: AllowList.parse('127.0.0.1/8,::1'), tokens: TokenTable.empty(), protectReads: false };

interface Server {
  url: string;
  close(): Promise<void>;
}

/** The real API with templates and the boot chain (its image source answers a fixed ID). */
async function startServer(store: Store, policy: AuthPolicy = LOOPBACK): Promise<Server> {
  const inventory = new Inventory(store);
  await inventory.start();
  const templates = new TemplateRepository(store, { inventory });
  const app = await buildApi({
    store,
    inventory,
    policy,
    metrics: createMetrics(inventory.cache),
    logger: pino({ level: 'silent' }),
    crypts: false,
    boot: {
      ipxeEfiPath: '/nonexistent/ipxe.efi',
      newestImage: async () => 'test-image',
      newestTemplate: templates.newestTemplate,
    },
    templates,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await app.close();
      inventory.stop();
    },
  };
}

/** A valid Ignition 3.3 config with placeholders in files, systemd units and passwd. */
function workerTemplate(revision = 'r1'): Record<string, unknown> {
  return {
    ignition: { version: '3.3.0' },
    passwd: {
      users: [{ name: 'core', groups: ['sudo'], sshAuthorizedKeys: ['{{ meta.ssh-key }}'] }],
    },
    storage: {
      files: [
        { path: '/etc/hostname', mode: 420, overwrite: true, contents: { source: 'data:,{{ spec.serial | lower }}' } },
        {
          path: '/etc/systemd/network/10-eth0.network',
          mode: 420,
          contents: {
            source:
              'data:,%5BMatch%5D%0AName=eth0%0A%5BNetwork%5D%0AAddress={{ info.network.ipv4[0].address }}/{{ info.network.ipv4[0].maskbits }}%0AGateway={{ info.network.ipv4[0].gateway }}%0A',
          },
        },
        {
          path: '/etc/yagura/machine.json',
          mode: 384,
          contents: { source: 'data:;base64,{{ spec | json | base64 }}' },
        },
        { path: '/etc/yagura/revision', mode: 420, contents: { source: `data:,${revision}` } },
        { path: '/opt/bin/setup', mode: 493, contents: { source: '{{ urls.assets }}/setup' } },
        {
          path: '/etc/cloud/user-data',
          mode: 384,
          contents: { source: '{{ urls.api }}/api/v1/boot/templates/{{ spec.serial }}/user-data' },
        },
      ],
    },
    systemd: {
      units: [
        {
          name: 'yagura-setup.service',
          enabled: true,
          contents:
            '[Unit]\nDescription=Set up {{ spec.serial }} ({{ spec.labels.product | default "unknown" }})\n[Service]\nType=oneshot\nExecStart=/opt/bin/setup {{ info.network.ipv4[1].address }} {{ info.bmc.ipv4.address }}\n[Install]\nWantedBy=multi-user.target\n',
        },
      ],
    },
  };
}
const META = { 'ssh-key': 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl core@yagura' };

interface Backend {
  name: string;
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

const dirs: { remove(): void }[] = [];
let cluster: EtcdCluster | undefined;
let prefixes = 0;
const BACKENDS: Backend[] = [
  {
    name: 'the embedded store',
    open: async () => {
      const dir = tempDir('ignitions');
      dirs.push(dir);
      return openEmbeddedStore({ dataDir: dir.path });
    },
    cleanup: async () => {
      for (const dir of dirs.splice(0)) dir.remove();
    },
  },
  {
    name: 'etcd',
    open: async () => {
      cluster ??= await EtcdCluster.start(1);
      return openStore({ backend: 'etcd', endpoints: cluster.endpoints, prefix: `/ignitions-${prefixes++}/` });
    },
    cleanup: async () => {
      await cluster?.stop();
      cluster = undefined;
    },
  },
];

for (const backend of BACKENDS) {
  describe(`templates API on ${backend.name}`, () => {
    let store: Store;
    let server: Server;
    const get = (path: string, headers?: Record<string, string>) => call(server.url, 'GET', path, undefined, headers);
    const put = (path: string, body: unknown, headers?: Record<string, string>) => call(server.url, 'PUT', path, body, headers);
    const del = (path: string, headers?: Record<string, string>) => call(server.url, 'DELETE', path, undefined, headers);
    const upload = (role: string, id: string, template = workerTemplate(id), meta: unknown = META) =>
      put(`/api/v1/ignitions/${role}/${id}`, { template, meta });
    const error = (response: { body: unknown }) => response.body as { error: string; field?: string };

    before(async () => {
      store = await backend.open();
      server = await startServer(store);
      assert.equal((await put('/api/v1/config/ipam', EXAMPLE_IPAM)).status, 200);
      const machines = [
        { serial: 'W-0001', rack: 1, role: 'worker', bmc: { type: 'IPMI-2.0' }, labels: { product: 'R640' } },
        { serial: 'S-0001', rack: 1, role: 'storage', bmc: { type: 'IPMI-2.0' } },
      ];
      assert.equal((await call(server.url, 'POST', '/api/v1/machines', machines)).status, 201);
    });
    after(async () => {
      await server?.close();
      await store?.close();
      await backend.cleanup();
    });

    it('accepts a valid Ignition 3.3 template and renders it for a registered machine', async () => {
      const created = await upload('worker', '1.0.0');
      assert.equal(created.status, 201, created.text);
      assert.deepEqual(created.body, { role: 'worker', id: '1.0.0', warnings: [] });
      const stored = (await get('/api/v1/ignitions/worker/1.0.0')).body as { template: unknown; meta: unknown; created: string };
      assert.deepEqual(stored.template, workerTemplate('1.0.0'));
      assert.deepEqual(stored.meta, META);

      const machine = ((await get('/api/v1/machines?serial=W-0001')).body as Machine[])[0]!;
      const rendered = await get('/api/v1/boot/ignitions/W-0001/1.0.0');
      assert.equal(rendered.status, 200, rendered.text);
      const config = rendered.body as ReturnType<typeof workerTemplate> & {
        storage: { files: { path: string; contents: { source: string } }[] };
        systemd: { units: { contents: string }[] };
        passwd: { users: { sshAuthorizedKeys: string[] }[] };
      };
      const file = (path: string) => config.storage.files.find((f) => f.path === path)!.contents.source;
      assert.equal(file('/etc/hostname'), 'data:,w-0001');
      const nic = machine.info.network.ipv4[0]!;
      assert.equal(nic.address, '10.69.0.196');
      assert.equal(
        decodeURIComponent(file('/etc/systemd/network/10-eth0.network').slice('data:,'.length)),
        `[Match]\nName=eth0\n[Network]\nAddress=10.69.0.196/26\nGateway=10.69.0.193\n`,
      );
      const spec = JSON.parse(Buffer.from(file('/etc/yagura/machine.json').slice('data:;base64,'.length), 'base64').toString());
      assert.deepEqual(spec, machine.spec);
      assert.equal(file('/opt/bin/setup'), `${server.url}/api/v1/assets/setup`);
      assert.equal(file('/etc/cloud/user-data'), `${server.url}/api/v1/boot/templates/W-0001/user-data`);
      assert.match(config.systemd.units[0]!.contents, /Description=Set up W-0001 \(R640\)/);
      assert.match(config.systemd.units[0]!.contents, /ExecStart=\/opt\/bin\/setup 10\.69\.1\.4 10\.72\.17\.36/);
      assert.deepEqual(config.passwd.users[0]!.sshAuthorizedKeys, [META['ssh-key']]);
      assert.ok(!rendered.text.includes('{{'));

      const report = await ignitionValidator()(rendered.text);
      assert.deepEqual(report, { valid: true, problems: [] });
    });

    it('versions: IDs are immutable, listed in version order, the newest 10 kept, delete rolls back', async () => {
      assert.equal((await upload('worker', '1.0.0')).status, 409);
      assert.match(error(await upload('worker', '1.0')).error, /same version as the existing 1\.0\.0/);
      assert.equal(error(await upload('worker', '1.0')).field, 'id');
      const bad = await upload('worker', 'v2');
      assert.equal(bad.status, 400);
      assert.deepEqual(error(bad).field, 'id');

      for (const id of ['1.10.0', '1.2.0', '1.9.0', '2.0.0', '1.3.0', '1.4.0', '1.5.0', '1.6.0', '1.7.0']) {
        assert.equal((await upload('worker', id)).status, 201, id);
      }
      const ten = ['1.0.0', '1.2.0', '1.3.0', '1.4.0', '1.5.0', '1.6.0', '1.7.0', '1.9.0', '1.10.0', '2.0.0'];
      assert.deepEqual((await get('/api/v1/ignitions/worker')).body, ten);
      assert.equal((await upload('worker', '1.8.0')).status, 201);
      assert.deepEqual((await get('/api/v1/ignitions/worker')).body, [...ten.slice(1, 7), '1.8.0', ...ten.slice(7)]);
      assert.equal((await get('/api/v1/ignitions/worker/1.0.0')).status, 404, 'the lowest was pushed out');
      const tooOld = await upload('worker', '1.1.0');
      assert.equal(tooOld.status, 409);
      assert.match(error(tooOld).error, /older than the 10 versions kept \(the oldest is 1\.2\.0\)/);

      // Machines boot the highest version; deleting it rolls back to the one before.
      const script = async () => (await get('/api/v1/boot/coreos/ipxe/W-0001')).text;
      assert.match(await script(), /ignition\.config\.url=http:\/\/127\.0\.0\.1:\d+\/api\/v1\/boot\/ignitions\/W-0001\/2\.0\.0/);
      assert.deepEqual((await del('/api/v1/ignitions/worker/2.0.0')).body, { newest: '1.10.0' });
      assert.match(await script(), /\/api\/v1\/boot\/ignitions\/W-0001\/1\.10\.0/);
      assert.equal((await get('/api/v1/ignitions/worker/2.0.0')).status, 404);
      assert.equal((await del('/api/v1/ignitions/worker/2.0.0')).status, 404);
      assert.equal((await del('/api/v1/ignitions/worker/1.5.0')).status, 200, 'an older version can go too');
      assert.deepEqual((await get('/api/v1/ignitions/worker')).body, [
        '1.2.0',
        '1.3.0',
        '1.4.0',
        '1.6.0',
        '1.7.0',
        '1.8.0',
        '1.9.0',
        '1.10.0',
      ]);
      assert.deepEqual((await get('/api/v1/ignitions/nobody')).body, []);
      const revision = await get('/api/v1/boot/ignitions/W-0001/1.10.0');
      const files = (revision.body as { storage: { files: { path: string; contents: { source: string } }[] } }).storage.files;
      assert.equal(files.find((f) => f.path === '/etc/yagura/revision')!.contents.source, 'data:,1.10.0');

      const logs = (await get('/api/v1/logs')).text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as AuditRecord)
        .filter((r) => r.category === 'ignitions');
      assert.ok(logs.some((r) => r.instance === 'worker/1.8.0' && r.action === 'put' && r.detail === 'pruned 1.0.0'));
      assert.ok(logs.some((r) => r.instance === 'worker/2.0.0' && r.action === 'delete' && /boot 1\.10\.0/.test(r.detail)));
    });

    it('concurrent uploads to one role keep exactly the 10 highest accepted versions', async () => {
      const ids = Array.from({ length: 16 }, (_, i) => `3.${i}`);
      const results = await Promise.all(ids.map((id) => upload('race', id)));
      const accepted = ids.filter((_, i) => results[i]!.status === 201);
      for (const result of results) assert.ok([201, 409].includes(result.status), result.text);
      const kept = (await get('/api/v1/ignitions/race')).body as string[];
      assert.equal(kept.length, 10);
      assert.deepEqual(kept, accepted.slice(-10));
      for (const id of ids.filter((id) => !kept.includes(id)))
        assert.equal((await get(`/api/v1/ignitions/race/${id}`)).status, 404);
    });

    it('refuses invalid uploads with the field: placeholders, ignition-validate, the body', async () => {
      const template = workerTemplate();
      const files = (template.storage as { files: Record<string, unknown>[] }).files;
      files[0]!.contents = { source: 'data:,{{ spec.serail }}' };
      const typo = await upload('worker', '9.0.0', template);
      assert.equal(typo.status, 400);
      assert.equal(error(typo).field, '/storage/files/0/contents/source');
      assert.match(error(typo).error, /\{\{ spec\.serail \}\}: unknown path spec\.serail/);

      const noPath = workerTemplate();
      delete (noPath.storage as { files: Record<string, unknown>[] }).files[1]!.path;
      const invalid = await upload('worker', '9.0.0', noPath);
      assert.equal(invalid.status, 400);
      assert.deepEqual(error(invalid), {
        error: error(invalid).error,
        field: '/storage/files/1/path',
      });
      assert.match(
        error(invalid).error,
        /ignition-validate: error at \$\.storage\.files\.1\.path, line \d+ col \d+: path not specified/,
      );

      const v2 = await upload('worker', '9.0.0', { ignition: { version: '2.2.0' } });
      assert.equal(v2.status, 400);
      assert.equal(error(v2).field, '/ignition/version');
      assert.match(error(v2).error, /unsupported config version/);

      const unknown = await put('/api/v1/ignitions/worker/9.0.0', { template: workerTemplate(), meta: META, version: '3.3' });
      assert.deepEqual(unknown.body, { error: 'unknown field version', field: 'version' });
      assert.equal((await put('/api/v1/ignitions/worker/9.0.0', { meta: META })).status, 400);
      assert.equal((await put('/api/v1/ignitions/Bad Role/9.0.0', { template: workerTemplate() })).status, 400);
      assert.ok(!((await get('/api/v1/ignitions/worker')).body as string[]).includes('9.0.0'), 'nothing was written');
    });

    it('answers 404 for unknown machines and templates, and 500 naming the field when a machine lacks what a template needs', async () => {
      const noMachine = await get('/api/v1/boot/ignitions/NOPE/1.10.0');
      assert.equal(noMachine.status, 404);
      assert.match(error(noMachine).error, /machine NOPE not found/);
      const noTemplate = await get('/api/v1/boot/ignitions/W-0001/7.7.7');
      assert.equal(noTemplate.status, 404);
      assert.match(
        error(noTemplate).error,
        /Ignition template 7\.7\.7 of role worker \(machine W-0001\) not found; the role has 1\.2\.0, /,
      );
      assert.match(
        error(await get('/api/v1/boot/ignitions/S-0001/1.0')).error,
        /role storage has no templates|the role has no templates/,
      );

      // The upload check gives the sample machine every label the template reads; S-0001 has none.
      const needsLabel = {
        ignition: { version: '3.3.0' },
        storage: { files: [{ path: '/etc/product', contents: { source: 'data:,{{ spec.labels.product }}' } }] },
      };
      assert.equal((await upload('storage', '1.0', needsLabel)).status, 201);
      const failed = await get('/api/v1/boot/ignitions/S-0001/1.0');
      assert.equal(failed.status, 500);
      assert.equal(error(failed).field, '/storage/files/0/contents/source');
      assert.match(error(failed).error, /cannot be rendered for machine S-0001: .*spec\.labels has no "product"/);
    });

    it('text templates: set, replace, render for a machine, refuse bad placeholders naming the line', async () => {
      const userData =
        '#cloud-config\nhostname: {{ spec.serial | lower }}\nwrite_files:\n  - path: /etc/gw\n    content: {{ info.network.ipv4[0].gateway }}\n';
      const first = await put('/api/v1/templates/worker/user-data', userData, { 'content-type': 'text/plain' });
      assert.equal(first.status, 201, first.text);
      assert.equal((await put('/api/v1/templates/worker/user-data', userData, { 'content-type': 'text/yaml' })).status, 200);
      assert.equal(
        (await put('/api/v1/templates/worker/meta.json', '{"id": "{{ spec.serial }}"}', { 'content-type': 'application/json' }))
          .status,
        201,
      );
      assert.deepEqual((await get('/api/v1/templates/worker')).body, ['meta.json', 'user-data']);
      assert.equal((await get('/api/v1/templates/worker/user-data')).text, userData);

      const rendered = await get('/api/v1/boot/templates/W-0001/user-data');
      assert.equal(rendered.status, 200);
      assert.equal(rendered.text, '#cloud-config\nhostname: w-0001\nwrite_files:\n  - path: /etc/gw\n    content: 10.69.0.193\n');
      assert.deepEqual((await get('/api/v1/boot/templates/W-0001/meta.json')).body, { id: 'W-0001' });

      const bad = await put('/api/v1/templates/worker/broken', 'a\nb\nc: {{ spec.ipv4 }}\n', { 'content-type': 'text/plain' });
      assert.equal(bad.status, 400);
      assert.equal(error(bad).field, 'line 3');
      assert.match(error(bad).error, /\{\{ spec\.ipv4 \}\}: spec\.ipv4 is a list of 3/);
      assert.equal((await get('/api/v1/templates/worker/broken')).status, 404);
      assert.equal((await get('/api/v1/boot/templates/S-0001/user-data')).status, 404);

      assert.equal((await del('/api/v1/templates/worker/meta.json')).status, 200);
      assert.equal((await del('/api/v1/templates/worker/meta.json')).status, 404);
      assert.deepEqual((await get('/api/v1/templates/worker')).body, ['user-data']);
    });
  });
}

describe('templates API: access control', () => {
  const dir = tempDir('ignitions-access');
  let store: Store;
  let server: Server;
  before(async () => {
    store = await openEmbeddedStore({ dataDir: dir.path });
    // Loopback is not in the allow list: changes need the token.
    server = await startServer(store, {
      allowed: AllowList.parse('10.1.2.3'),
      tokens: new TokenTable(new Map([[hashToken('t0ken'), 'ops']])),
      protectReads: false,
    });
  });
  after(async () => {
    await server?.close();
    await store?.close();
    dir.remove();
  });

  it('PUT and DELETE need write access; reads do not', async () => {
    const body = { template: workerTemplate(), meta: META };
    const refused = await call(server.url, 'PUT', '/api/v1/ignitions/worker/1.0', body);
    assert.equal(refused.status, 403);
    assert.match((refused.body as { error: string }).error, /need a bearer token/);
    assert.equal(
      (await call(server.url, 'PUT', '/api/v1/templates/worker/x', 'text', { 'content-type': 'text/plain' })).status,
      403,
    );
    const wrongToken = await call(server.url, 'PUT', '/api/v1/ignitions/worker/1.0', body, { authorization: 'Bearer nope' });
    assert.equal(wrongToken.status, 401);
    assert.deepEqual((await call(server.url, 'GET', '/api/v1/ignitions/worker')).body, []);

    const auth = { authorization: 'Bearer t0ken' };
    assert.equal((await call(server.url, 'PUT', '/api/v1/ignitions/worker/1.0', body, auth)).status, 201);
    assert.equal((await call(server.url, 'DELETE', '/api/v1/ignitions/worker/1.0')).status, 403);
    assert.deepEqual((await call(server.url, 'GET', '/api/v1/ignitions/worker')).body, ['1.0']);
    assert.equal((await call(server.url, 'DELETE', '/api/v1/ignitions/worker/1.0', undefined, auth)).status, 200);
    const logs = (await call(server.url, 'GET', '/api/v1/logs')).text;
    assert.match(logs, /"user":"ops".*"category":"ignitions"/);
  });
});
