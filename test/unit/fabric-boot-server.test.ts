/** The boot servers of a generated site: an etcd member each, one cluster of them all, and `yagura serve` on it. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { generateSite, parseSiteSpec, type GeneratedSite } from '../../src/fabric/index.js';
import { parseTopology, type Topology } from '../../src/vdc/spec/index.js';

const NETNS = 'test/fixtures/fabric/2racks-netns.yml';

function topologyOf(site: GeneratedSite): Topology {
  return parseTopology([{ path: 'dc.yml', text: site.files.find((file) => file.path === 'dc.yml')!.content }]);
}

function appsOf(topology: Topology, node: string): Map<string, string[]> {
  const found = topology.nodes.find((n) => n.name === node)!;
  assert.equal(found.type, 'netns', `${node} is a netns node`);
  return new Map(found.type === 'netns' ? found.apps.map((app) => [app.name, app.command]) : []);
}

describe('fabric: boot servers', () => {
  const site = generateSite(parseSiteSpec({ path: NETNS, text: readFileSync(NETNS, 'utf8') }));
  const topology = topologyOf(site);

  it('runs BIRD, an etcd member and yagura serve on every netns boot server, node0 announced before they start', () => {
    const node = topology.nodes.find((n) => n.name === 'boot-0')!;
    assert.ok(node.type === 'netns');
    assert.deepEqual(
      node.initScripts.map((script) => script.replace(/.*\/init\//, 'init/')),
      ['init/boot-0.sh'],
    );
    assert.deepEqual([...appsOf(topology, 'boot-0').keys()], ['bird', 'etcd', 'yagura', 'node-agent']);
  });

  it('runs a serf agent with node checks on every boot server, and the state setter reads it', () => {
    assert.deepEqual(appsOf(topology, 'boot-0').get('node-agent'), [
      '${YAGURA}',
      'node',
      'agent',
      '--serf-config',
      'serf/${NAME}.json',
      '--bird-socket',
      '${RUN_DIR}/bird-${NAME}.ctl',
      '--check-url',
      'serve=http://127.0.0.1:10080/health',
      '--check-url',
      'etcd=http://127.0.0.1:2379/health',
    ]);
    const config = JSON.parse(site.files.find((file) => file.path === 'serf/boot-1.json')!.content) as Record<string, unknown>;
    assert.equal(config.node_name, 'boot-1');
    assert.equal(config.bind, '10.69.0.195:7946');
    assert.deepEqual(config.retry_join, ['10.69.0.3:7946', '10.69.0.195:7946']);
    assert.deepEqual(config.tags, {
      serial: site.plan.machines.find((m) => m.name === 'boot-1')!.serial,
      role: 'boot',
      rack: '1',
    });
  });

  it('makes one etcd cluster of all boot servers, each member on its node0 and on loopback', () => {
    const cluster = '--initial-cluster=boot-0=http://10.69.0.3:2380,boot-1=http://10.69.0.195:2380';
    assert.deepEqual(appsOf(topology, 'boot-1').get('etcd'), [
      'etcd',
      '--name=boot-1',
      '--data-dir=${RUN_DIR}/etcd-${NAME}',
      '--listen-peer-urls=http://10.69.0.195:2380',
      '--initial-advertise-peer-urls=http://10.69.0.195:2380',
      '--listen-client-urls=http://10.69.0.195:2379,http://127.0.0.1:2379',
      '--advertise-client-urls=http://10.69.0.195:2379',
      cluster,
      '--initial-cluster-state=new',
      '--initial-cluster-token=${DC}',
      '--heartbeat-interval=200',
      '--election-timeout=2000',
      '--auto-compaction-retention=1',
      '--logger=zap',
      '--log-outputs=stderr',
    ]);
    assert.ok(appsOf(topology, 'boot-0').get('etcd')!.includes(cluster), 'every member is given the same cluster');
    assert.ok(appsOf(topology, 'boot-0').get('etcd')!.includes('--name=boot-0'));
  });

  it('runs yagura serve on the cluster, answering relayed DHCP on node0 with node0 as the server identifier', () => {
    assert.deepEqual(appsOf(topology, 'boot-0').get('yagura'), [
      '${YAGURA}',
      'serve',
      '--store=etcd',
      '--etcd-endpoints=http://10.69.0.3:2379,http://10.69.0.195:2379',
      '--store-wait=2m',
      '--listen=0.0.0.0:10080',
      '--dhcp-listen=10.69.0.3:67',
      '--dhcp-server-id=10.69.0.3',
      '--advertise-url=http://10.69.0.3:10080',
      '--data-dir=${RUN_DIR}/yagura-${NAME}',
      '--state-setter-serf=127.0.0.1:7373',
      '--state-setter-interval=2s',
      '--state-setter-grace=8s',
    ]);
  });

  it('leaves VM boot servers out: they run nothing, and the cluster is the netns boot servers', () => {
    const spec = `name: half
racks: 3
servers: [{ role: cs, count: 1, kind: netns }]
overrides:
  - { rack: 1, boot-server: { kind: vm } }
`;
    const mixed = topologyOf(generateSite(parseSiteSpec({ path: 'half.yml', text: spec })));
    const vm = mixed.nodes.find((n) => n.name === 'boot-1')!;
    assert.equal(vm.type, 'vm');
    for (const name of ['boot-0', 'boot-2']) {
      const etcd = appsOf(mixed, name).get('etcd')!;
      const cluster = etcd.find((word) => word.startsWith('--initial-cluster='))!;
      assert.deepEqual(
        cluster
          .slice('--initial-cluster='.length)
          .split(',')
          .map((member) => member.split('=')[0]),
        ['boot-0', 'boot-2'],
      );
      const serve = appsOf(mixed, name).get('yagura')!;
      assert.equal(serve.find((word) => word.startsWith('--etcd-endpoints='))!.split(',').length, 2);
    }
    // The ToRs relay to the core: the netns boot servers that run etcd and serve, not the VM one.
    const tor = mixed.networkNamespaces.find((ns) => ns.name === 'rack0-tor1')!;
    assert.deepEqual(
      tor.apps.find((app) => app.name === 'dhcp-relay')!.command.filter((w) => w.startsWith('--dhcp-relay=')),
      ['--dhcp-relay=10.69.0.65,10.69.0.3', '--dhcp-relay=10.69.0.65,10.69.1.131'],
    );
  });

  it('makes the core of the first etcd-members boot servers (default 3); the others run serve on it', () => {
    const site4 = topologyOf(generateSite(parseSiteSpec({ path: 'four.yml', text: 'racks: 4\n' })));
    for (const name of ['boot-0', 'boot-1', 'boot-2'])
      assert.deepEqual([...appsOf(site4, name).keys()], ['bird', 'etcd', 'yagura', 'node-agent']);
    assert.deepEqual([...appsOf(site4, 'boot-3').keys()], ['bird', 'yagura', 'node-agent']);
    assert.ok(!appsOf(site4, 'boot-3').get('node-agent')!.includes('etcd=http://127.0.0.1:2379/health'), 'no etcd to check');
    const serve = appsOf(site4, 'boot-3').get('yagura')!;
    assert.equal(
      serve.find((word) => word.startsWith('--etcd-endpoints=')),
      '--etcd-endpoints=http://10.69.0.3:2379,http://10.69.0.195:2379,http://10.69.1.131:2379',
    );
    assert.throws(
      () => parseSiteSpec({ path: 'two.yml', text: 'racks: 2\netcd-members: 3\n' }),
      /etcd-members: 3 etcd members need as many netns boot servers; the site has 2/,
    );
  });

  it('changes nothing that runs when a rack is added with the core pinned', () => {
    const nodes = (racks: number) =>
      topologyOf(
        generateSite(
          parseSiteSpec({
            path: 'grow.yml',
            text: `racks: ${racks}\netcd-members: 2\nservers: [{ role: cs, count: 1, kind: netns }]\n`,
          }),
        ),
      );
    const two = nodes(2);
    const three = nodes(3);
    for (const name of ['boot-0', 'boot-1', 'rack0-cs1', 'rack1-cs1'])
      assert.deepEqual(appsOf(three, name), appsOf(two, name), `${name} runs the same commands`);
    for (const ns of two.networkNamespaces)
      assert.deepEqual(
        three.networkNamespaces.find((other) => other.name === ns.name)!.apps,
        ns.apps,
        `${ns.name} runs the same commands`,
      );
  });

  it('runs only yagura node join on netns servers that are not boot servers: no BIRD app, no etcd, no yagura serve', () => {
    const serial = site.plan.machines.find((machine) => machine.name === 'rack1-cs1')!.serial;
    assert.deepEqual(
      [...appsOf(topology, 'rack1-cs1')],
      [
        [
          'node-join',
          [
            '${YAGURA}',
            'node',
            'join',
            '--serial',
            serial,
            '--root',
            '${RUN_DIR}/nodes/${NAME}',
            '--bird-socket',
            '${RUN_DIR}/bird-${NAME}.ctl',
          ],
        ],
      ],
    );
  });
});
