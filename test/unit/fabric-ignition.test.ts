/**
 * The generator's Ignition templates, rendered for every server of the dctest
 * site by Yagura's real template renderer (what the boot API serves), give
 * each machine the node OS files it needs: the same BIRD config serverConfig
 * gives it (and bird -p accepts it), a network.conf with its node0 and both
 * uplinks, and a config the real ignition-validate accepts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { machineContext } from '../../src/boot/templates/context.js';
import { ignitionValidator } from '../../src/boot/templates/ignition-validate.js';
import { renderJson } from '../../src/boot/templates/render.js';
import {
  generateSite,
  ignitionTemplatePath,
  LABELS,
  parseSiteSpec,
  serverConfig,
  type GeneratedSite,
} from '../../src/fabric/index.js';
import { ipamConfig, machineSpecInput, type Machine } from '../../src/inventory/model.js';
import { planRegistration } from '../../src/inventory/registration.js';
import { tempDir } from '../helpers/temp.js';

const SPEC = 'test/fixtures/fabric/4racks.yml';
const API = 'http://10.69.0.3:10080';

interface IgnitionFile {
  path: string;
  mode: number;
  contents: { source: string };
}

function site(path: string): GeneratedSite {
  return generateSite(parseSiteSpec({ path, text: readFileSync(path, 'utf8') }));
}

function fileOf(generated: GeneratedSite, path: string): string {
  const found = generated.files.find((file) => file.path === path);
  assert.ok(found, `${path} is generated`);
  return found.content;
}

/** The machines as `yagura machines create -f machines.json` registers them, with ipam.json. */
function registered(generated: GeneratedSite): Machine[] {
  const ipam = ipamConfig.parse(JSON.parse(fileOf(generated, 'ipam.json')));
  const inputs = (JSON.parse(fileOf(generated, 'machines.json')) as unknown[]).map((entry) => machineSpecInput.parse(entry));
  const plan = planRegistration(ipam, inputs, new Map(), new Date('2026-12-01T00:00:00Z'));
  assert.equal(plan.kind, 'ok');
  return plan.kind === 'ok' ? plan.machines : [];
}

/** The rendered config's files, their data URLs decoded. */
function filesOf(config: unknown): Map<string, string> {
  const files = (config as { storage: { files: IgnitionFile[] } }).storage.files;
  return new Map(
    files.map((file) => {
      assert.ok(file.contents.source.startsWith('data:,'), file.path);
      return [file.path, decodeURIComponent(file.contents.source.slice('data:,'.length))];
    }),
  );
}

describe('fabric Ignition templates', () => {
  const generated = site(SPEC);
  const { plan } = generated;
  const machines = registered(generated);
  const servers = plan.machines.filter((machine) => !machine.boot);

  it('one template per role of the servers, ignitions/ROLE.json', () => {
    assert.deepEqual(
      generated.files.filter((file) => file.path.startsWith('ignitions/')).map((file) => file.path),
      ['ignitions/cs.json', 'ignitions/ss.json'],
    );
    assert.equal(servers.length, 7);
  });

  it('machines.json labels every server with its rack AS and hostname', () => {
    for (const machine of machines) {
      const planned = plan.machines.find((m) => m.serial === machine.spec.serial)!;
      assert.deepEqual(machine.spec.labels, {
        [LABELS.asn]: String(plan.racks[planned.rack]!.asn),
        [LABELS.hostname]: planned.name,
      });
    }
  });

  const validate = ignitionValidator();
  for (const server of servers) {
    it(`${server.name}: the rendered config gives serverConfig's bird.conf, its network.conf, and passes bird -p and ignition-validate`, async () => {
      const machine = machines.find((m) => m.spec.serial === server.serial);
      assert.ok(machine, `${server.name} is registered`);
      const template = JSON.parse(fileOf(generated, ignitionTemplatePath(server.role))) as unknown;
      const rendered = renderJson(template, machineContext(machine, API, {}));
      const files = filesOf(rendered);
      assert.deepEqual(
        [...files.keys()],
        ['/etc/hostname', '/etc/yagura/network.conf', '/etc/bird/bird.conf', '/etc/serf/serf.json'],
      );
      // serf: gossip on node0, joined through every netns boot server, tagged with what names the machine.
      const serf = JSON.parse(files.get('/etc/serf/serf.json')!) as Record<string, unknown>;
      assert.equal(serf.node_name, server.name);
      assert.equal(serf.bind, `${server.node0}:7946`);
      assert.equal(serf.rpc_addr, '127.0.0.1:7373');
      assert.deepEqual(
        serf.retry_join,
        plan.machines.filter((m) => m.boot && m.kind === 'netns').map((m) => `${m.node0}:7946`),
      );
      assert.deepEqual(serf.tags, { serial: server.serial, role: server.role, rack: String(server.rack) });

      const bird = files.get('/etc/bird/bird.conf')!;
      assert.equal(bird, serverConfig(plan, plan.racks[server.rack]!, server), 'byte-identical to serverConfig');
      assert.equal(files.get('/etc/hostname'), `${server.name}\n`);
      const network = files
        .get('/etc/yagura/network.conf')!
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('#'));
      assert.deepEqual(network, [
        `hostname ${server.name}`,
        `node0 ${server.node0}/32`,
        `uplink eth0 ${server.node1}/26`,
        `uplink eth1 ${server.node2}/26`,
      ]);

      const dir = tempDir('fabric-ignition');
      try {
        const path = join(dir.path, 'bird.conf');
        writeFileSync(path, bird);
        execFileSync('bird', ['-p', '-c', path], { stdio: ['ignore', 'pipe', 'pipe'] });
      } finally {
        dir.remove();
      }
      const report = await validate(JSON.stringify(rendered));
      assert.ok(report.valid, JSON.stringify(report.problems));
      assert.deepEqual(report.problems, []);
    });
  }

  it('one BIRD config for VM and netns servers: node0 from the dummy node0 or lo, only the /32', () => {
    for (const server of servers) {
      const config = serverConfig(plan, plan.racks[server.rack]!, server);
      assert.match(config, /interface "node0", "lo";/);
      assert.match(config, new RegExp(`import where net = ${server.node0.replace(/\./g, '\\.')}/32;`));
    }
  });
});

describe('fabric Ignition templates for netns servers', () => {
  const generated = site('test/fixtures/fabric/2racks-netns.yml');
  const machines = registered(generated);
  const servers = generated.plan.machines.filter((machine) => !machine.boot);

  it('a template for every role of netns servers too, none for the boot servers', () => {
    assert.deepEqual(
      generated.files.filter((file) => file.path.startsWith('ignitions/')).map((file) => file.path),
      ['ignitions/cs.json'],
    );
    assert.ok(servers.length > 0 && servers.every((server) => server.kind === 'netns'));
  });

  for (const server of servers) {
    it(`${server.name}: the rendered config gives serverConfig's bird.conf and its network.conf`, () => {
      const machine = machines.find((m) => m.spec.serial === server.serial)!;
      const template = JSON.parse(fileOf(generated, ignitionTemplatePath(server.role))) as unknown;
      const files = filesOf(renderJson(template, machineContext(machine, API, {})));
      assert.equal(files.get('/etc/bird/bird.conf'), serverConfig(generated.plan, generated.plan.racks[server.rack]!, server));
      assert.match(files.get('/etc/yagura/network.conf')!, new RegExp(`^uplink eth1 ${server.node2}/26$`, 'm'));
    });
  }
});
