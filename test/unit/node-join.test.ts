/**
 * The pure parts of `yagura node join`: network.conf, the files of a rendered
 * Ignition config, the lease report, which boot servers and which template,
 * and the address plan.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { machineContext } from '../../src/boot/templates/context.js';
import { renderJson } from '../../src/boot/templates/render.js';
import { generateSite, ignitionTemplatePath, parseSiteSpec } from '../../src/fabric/index.js';
import { ipamConfig, machineSpecInput } from '../../src/inventory/model.js';
import { planRegistration } from '../../src/inventory/registration.js';
import { decodeDataUrl, filesOfIgnition, IgnitionConfigError } from '../../src/node/ignition-files.js';
import {
  bootServerUrls,
  leaseAddressCommands,
  NetworkPlanError,
  observedInterfaces,
  parseLeaseReport,
  planNetwork,
  renderedConfigPath,
  templateToApply,
  type ObservedInterface,
} from '../../src/node/join-plan.js';
import { NetworkConfError, parseNetworkConf } from '../../src/node/network-conf.js';

const CONF = `# rack0-cs1: server (cs) of rack 0.
hostname rack0-cs1
node0 10.69.0.4/32
uplink eth0 10.69.0.68/26
uplink eth1 10.69.0.132/26
`;

describe('node join: network.conf', () => {
  it('reads hostname, node0 and the uplinks in order, as the node OS does', () => {
    assert.deepEqual(parseNetworkConf(CONF), {
      hostname: 'rack0-cs1',
      node0: '10.69.0.4',
      uplinks: [
        { device: 'eth0', address: '10.69.0.68', prefixLength: 26 },
        { device: 'eth1', address: '10.69.0.132', prefixLength: 26 },
      ],
      warnings: [],
    });
  });

  it('skips unknown items with a warning, and comments and blank lines silently', () => {
    const conf = parseNetworkConf(`${CONF}\n  # indented comment\nmtu eth0 9000 # a later item\n`, 'x.conf');
    assert.deepEqual(conf.warnings, ['x.conf:8: unknown item "mtu" skipped']);
    assert.equal(conf.uplinks.length, 2);
  });

  for (const [text, message] of [
    ['uplink eth0 10.69.0.68/26\n', /x\.conf: names no node0 address/],
    ['node0 10.69.0.4/24\n', /x\.conf:1: node0 must be a \/32: "node0 10\.69\.0\.4\/24"/],
    ['node0 10.69.0.4\n', /x\.conf:1: node0 is not an IPv4 address with a prefix length/],
    ['node0 10.69.0.4/32\nnode0 10.69.0.5/32\n', /x\.conf:2: node0 is given twice/],
    ['node0 10.69.0.4/32\nuplink eth0\n', /x\.conf:2: uplink takes an interface and an address/],
    ['node0 10.69.0.4/32\nuplink eth0 10.69.0.300/26\n', /x\.conf:2: the uplink address is not an IPv4 address/],
    ['node0 10.69.0.4/32\nuplink eth0 10.69.0.68/26\nuplink eth0 10.69.0.69/26\n', /x\.conf:3: uplink eth0 is given twice/],
    ['node0 10.69.0.4/32\nuplink a/b 10.69.0.68/26\n', /x\.conf:2: "a\/b" is not an interface name/],
    ['hostname bad_name!\nnode0 10.69.0.4/32\n', /x\.conf:1: hostname takes one host name/],
  ] as const) {
    it(`refuses ${JSON.stringify(text)} in one line naming the file and line`, () => {
      assert.throws(
        () => parseNetworkConf(text, 'x.conf'),
        (error: Error) => error instanceof NetworkConfError && message.test(error.message) && !error.message.includes('\n'),
      );
    });
  }
});

describe('node join: the files of an Ignition config', () => {
  const config = (files: unknown[], extra: Record<string, unknown> = {}) => ({
    ignition: { version: '3.3.0' },
    storage: { files },
    ...extra,
  });

  it('decodes data: URLs, percent-encoded and base64', () => {
    assert.equal(decodeDataUrl('data:,a%20b%0Ac%25%E2%9C%93').toString(), 'a b\nc%✓');
    assert.equal(decodeDataUrl('data:,plain ✓ text').toString(), 'plain ✓ text');
    assert.equal(decodeDataUrl('data:text/plain;charset=utf-8;base64,aGVsbG8K').toString(), 'hello\n');
    assert.deepEqual([...decodeDataUrl('data:;base64,AP8=')], [0, 255]);
    assert.throws(() => decodeDataUrl('data:,bad%zz'), /bad escape "%zz"/);
    assert.throws(() => decodeDataUrl('data:;base64,@@@@'), /not valid base64/);
    assert.throws(() => decodeDataUrl('http://10.69.0.3/x'), /not a data: URL; node join applies data: URLs only/);
  });

  it('gives each file with its mode (0644 when none) and contents (empty when none)', () => {
    const { files, ignored } = filesOfIgnition(
      config([{ path: '/etc/hostname', mode: 0o600, contents: { source: 'data:,rack0-cs1%0A' } }, { path: '/etc/empty' }]),
    );
    assert.deepEqual(
      files.map((file) => [file.path, file.mode, file.contents.toString()]),
      [
        ['/etc/hostname', 0o600, 'rack0-cs1\n'],
        ['/etc/empty', 0o644, ''],
      ],
    );
    assert.deepEqual(ignored, []);
  });

  it('names what it does not apply', () => {
    const { ignored } = filesOfIgnition(
      config([], {
        systemd: { units: [{ name: 'a.service' }] },
        passwd: { users: [{ name: 'core' }] },
        storage: { files: [], directories: [{ path: '/var/x' }], links: [] },
      }),
    );
    assert.deepEqual(ignored, ['storage.directories', 'systemd.units', 'passwd']);
  });

  for (const [bad, message] of [
    [{ ignition: { version: '2.2.0' } }, /ignition\.version "2\.2\.0" is not a v3 spec version/],
    ['text', /not a JSON object/],
    [config([{ path: 'etc/x' }]), /storage\.files\[0\]: path "etc\/x" is not an absolute path/],
    [config([{ path: '/etc/../../x' }]), /is not a normalized path/],
    [config([{ path: '/etc//x' }]), /is not a normalized path/],
    [config([{ path: '/x' }, { path: '/x' }]), /storage\.files\[1\]: \/x is given twice/],
    [config([{ path: '/x', mode: '644' }]), /mode "644" is not a file mode/],
    [config([{ path: '/x', append: [{ source: 'data:,a' }] }]), /append is not supported/],
    [config([{ path: '/x', contents: { source: 'https://example.invalid/x' } }]), /\(\/x\): the source .* is not a data: URL/],
  ] as const) {
    it(`refuses ${JSON.stringify(bad).slice(0, 70)}`, () => {
      assert.throws(
        () => filesOfIgnition(bad),
        (error: Error) => error instanceof IgnitionConfigError && message.test(error.message),
      );
    });
  }

  it('applies the generated template as rendered for a netns server: hostname, network.conf and bird.conf', () => {
    const site = generateSite(
      parseSiteSpec({ path: 'one.yml', text: 'name: one\nracks: 1\nservers: [{ role: cs, count: 1, kind: netns }]\n' }),
    );
    const generated = (path: string) => site.files.find((file) => file.path === path)!.content;
    const inputs = (JSON.parse(generated('machines.json')) as unknown[]).map((entry) => machineSpecInput.parse(entry));
    const registered = planRegistration(ipamConfig.parse(JSON.parse(generated('ipam.json'))), inputs, new Map(), new Date(0));
    assert.ok(registered.kind === 'ok');
    const machine = registered.machines.find((m) => m.spec.labels.hostname === 'rack0-cs1')!;
    const rendered = renderJson(JSON.parse(generated(ignitionTemplatePath('cs'))), machineContext(machine, 'http://x', {}));
    const { files } = filesOfIgnition(rendered);
    const text = new Map(files.map((file) => [file.path, file.contents.toString()]));
    assert.equal(text.get('/etc/hostname'), 'rack0-cs1\n');
    const conf = parseNetworkConf(text.get('/etc/yagura/network.conf')!);
    assert.deepEqual(conf, {
      hostname: 'rack0-cs1',
      node0: '10.69.0.4',
      uplinks: [
        { device: 'eth0', address: '10.69.0.68', prefixLength: 26 },
        { device: 'eth1', address: '10.69.0.132', prefixLength: 26 },
      ],
      warnings: [],
    });
    assert.match(text.get('/etc/bird/bird.conf')!, /^router id 10\.69\.0\.4;$/m);
  });
});

describe('node join: lease, boot servers, template', () => {
  const REPORT = 'interface=eth0\nip=10.69.0.100\nmask=26\nrouter=10.69.0.65 10.69.0.66\nserverid=10.69.0.3\nlease=3600\n';

  it("reads udhcpc's report", () => {
    assert.deepEqual(parseLeaseReport(REPORT), {
      device: 'eth0',
      address: '10.69.0.100',
      prefixLength: 26,
      router: '10.69.0.65',
      serverId: '10.69.0.3',
      leaseSeconds: 3600,
    });
    assert.deepEqual(parseLeaseReport('interface=eth0\nip=10.0.0.2\nmask=24\nrouter=\nserverid=\n'), {
      device: 'eth0',
      address: '10.0.0.2',
      prefixLength: 24,
    });
    assert.throws(() => parseLeaseReport('interface=eth0\n'), /no usable lease/);
    assert.throws(() => parseLeaseReport('interface=eth0\nip=10.0.0.2\n'), /no subnet mask/);
  });

  it('asks the given boot servers first, then the DHCP server that answered, each once', () => {
    const lease = parseLeaseReport(REPORT);
    assert.deepEqual(bootServerUrls([], lease, 10080), ['http://10.69.0.3:10080']);
    assert.deepEqual(bootServerUrls(['http://10.69.0.195:10080/', 'http://10.69.0.3:10080'], lease, 10080), [
      'http://10.69.0.195:10080',
      'http://10.69.0.3:10080',
    ]);
    assert.deepEqual(bootServerUrls([], { ...lease, serverId: undefined }, 10080), []);
  });

  it('takes the highest template version, as the boot server boots it', () => {
    assert.equal(templateToApply(['1.9.0', '1.10.0', '1.2']), '1.10.0');
    assert.equal(templateToApply([]), undefined);
    assert.equal(renderedConfigPath('abc', '1.0.0'), '/api/v1/boot/ignitions/abc/1.0.0');
  });

  it('reaches the boot servers with the leased address and a default route through the router', () => {
    assert.deepEqual(leaseAddressCommands(parseLeaseReport(REPORT)), [
      'link set eth0 up',
      'address replace 10.69.0.100/26 dev eth0',
      'route replace default via 10.69.0.65 dev eth0',
    ]);
  });
});

describe('node join: the address plan', () => {
  const conf = parseNetworkConf(CONF);
  const lease = parseLeaseReport('interface=eth0\nip=10.69.0.100\nmask=26\nrouter=10.69.0.65\n');
  const fresh: ObservedInterface[] = [
    { device: 'lo', up: true, ipv4: ['127.0.0.1/8'] },
    { device: 'eth0', up: true, ipv4: ['10.69.0.100/26'] },
    { device: 'eth1', up: false, ipv4: [] },
  ];

  it('drops the DHCP address, puts node0/32 on lo and each uplink its address', () => {
    assert.deepEqual(planNetwork(conf, fresh, lease), [
      'address add 10.69.0.4/32 dev lo',
      'address flush dev eth0 scope global',
      'address add 10.69.0.68/26 dev eth0',
      'address add 10.69.0.132/26 dev eth1',
      'link set eth1 up',
    ]);
  });

  it('changes nothing the second time', () => {
    const joined: ObservedInterface[] = [
      { device: 'lo', up: true, ipv4: ['127.0.0.1/8', '10.69.0.4/32'] },
      { device: 'eth0', up: true, ipv4: ['10.69.0.68/26'] },
      { device: 'eth1', up: true, ipv4: ['10.69.0.132/26'] },
    ];
    assert.deepEqual(planNetwork(conf, joined, lease), []);
  });

  it('after a restart, drops a new lease next to the right address', () => {
    const restarted: ObservedInterface[] = [
      { device: 'lo', up: true, ipv4: ['127.0.0.1/8', '10.69.0.4/32'] },
      { device: 'eth0', up: true, ipv4: ['10.69.0.68/26', '10.69.0.100/26'] },
      { device: 'eth1', up: true, ipv4: ['10.69.0.132/26'] },
    ];
    assert.deepEqual(planNetwork(conf, restarted, lease), [
      'address flush dev eth0 scope global',
      'address add 10.69.0.68/26 dev eth0',
    ]);
  });

  it('removes the lease from an interface that is no uplink, and brings lo up', () => {
    const elsewhere = { ...lease, device: 'eth2' };
    const observed = [
      ...fresh.map((link) => (link.device === 'lo' ? { ...link, up: false } : link)),
      { device: 'eth2', up: true, ipv4: ['10.69.0.100/26'] },
    ];
    const plan = planNetwork(conf, observed, elsewhere);
    assert.ok(plan.includes('link set lo up'));
    assert.equal(plan.at(-1), 'address del 10.69.0.100/26 dev eth2');
  });

  it('refuses an uplink the namespace does not have', () => {
    assert.throws(
      () =>
        planNetwork(
          conf,
          fresh.filter((link) => link.device !== 'eth1'),
          lease,
        ),
      (error: Error) =>
        error instanceof NetworkPlanError && /uplink eth1: no such interface here \(have: lo, eth0\)/.test(error.message),
    );
  });

  it('reads `ip -j address show`', () => {
    const json = [
      {
        ifname: 'lo',
        flags: ['LOOPBACK', 'UP', 'LOWER_UP'],
        addr_info: [
          { family: 'inet', local: '127.0.0.1', prefixlen: 8 },
          { family: 'inet6', local: '::1', prefixlen: 128 },
        ],
      },
      { ifname: 'eth0', flags: ['BROADCAST', 'MULTICAST'], addr_info: [] },
    ];
    assert.deepEqual(observedInterfaces(json), [
      { device: 'lo', up: true, ipv4: ['127.0.0.1/8'] },
      { device: 'eth0', up: false, ipv4: [] },
    ]);
  });
});
