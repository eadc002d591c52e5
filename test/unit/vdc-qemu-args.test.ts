import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UserError } from '../../src/lib/errors.js';
import { macAddress, nodePaths, qemuArgs, type AttachedVolume, type QemuArgsInput } from '../../src/vdc/host/qemu-args.js';
import { parseTopology, type VmNode } from '../../src/vdc/spec/index.js';

const RUN = '/run/yagura/dc/dc1/vm';
const DATA = '/var/lib/yagura/dc/dc1';

/** The VM node named `name` of a topology written as YAML lines (in /etc/dc, so relative paths resolve there). */
function vmNode(name: string, ...yaml: string[]): VmNode {
  const topology = parseTopology([{ path: '/etc/dc/cluster.yml', text: yaml.join('\n') + '\n' }]);
  const node = topology.nodes.find((candidate) => candidate.name === name);
  assert.ok(node?.type === 'vm');
  return node;
}

function argsOf(node: VmNode, input: Partial<QemuArgsInput> = {}): string[] {
  return qemuArgs({
    node,
    dcName: 'dc1',
    accel: 'tcg',
    taps: node.interfaces.map((_, i) => `yg-t${i}`),
    volumes: [],
    paths: nodePaths(RUN, DATA, node.name),
    ...input,
  });
}

/** What every node gets after its own devices: console, QMP, PID file, the placemat port, virtio-rng. */
const tailFor = (name: string) => [
  '-nographic',
  '-chardev',
  `socket,id=console,path=${RUN}/${name}.console,server=on,wait=off,logfile=${RUN}/${name}.console.log,logappend=on`,
  ...['-serial', 'chardev:console'],
  ...['-qmp', `unix:${RUN}/${name}.qmp,server=on,wait=off`],
  ...['-pidfile', `${RUN}/${name}.pid`],
  ...['-device', 'virtio-serial-pci,id=virtio-serial0'],
  ...['-chardev', `socket,id=guest,path=${RUN}/${name}.guest,server=on,wait=off`],
  ...['-device', 'virtserialport,bus=virtio-serial0.0,chardev=guest,name=placemat'],
  ...['-object', 'rng-random,id=rng0,filename=/dev/urandom', '-device', 'virtio-rng-pci,rng=rng0'],
];

describe('QEMU command line of a VM node', () => {
  it('a BIOS node with KVM: smp topology, NUMA split, SMBIOS, multiqueue NICs with stable MACs, Ignition', () => {
    const node = vmNode(
      'rack0-cs1',
      'kind: Network',
      'name: r0-node1',
      '---',
      'kind: Network',
      'name: r0-node2',
      '---',
      'kind: Node',
      'name: rack0-cs1',
      'interfaces: [r0-node1, r0-node2]',
      'smp: {cpus: 6, sockets: 2, cores: 3}',
      'numa: {nodes: 2}',
      'memory: 3G',
      'network-device-queue: 4',
      'ignition: ign/cs1.ign',
      'smbios: {manufacturer: "Yagura, Inc.", product: vm, serial: cs0001}',
    );
    assert.deepEqual(argsOf(node, { accel: 'kvm', taps: ['yg-t7', 'yg-t8'] }), [
      ...['-name', 'rack0-cs1', '-no-user-config', '-nodefaults', '-machine', 'pc'],
      ...['-accel', 'kvm', '-cpu', 'host'],
      ...['-smp', 'cpus=6,sockets=2,cores=3', '-m', '3072M'],
      ...['-object', 'memory-backend-ram,id=numa-mem0,size=1536M', '-numa', 'node,nodeid=0,cpus=0-2,memdev=numa-mem0'],
      ...['-object', 'memory-backend-ram,id=numa-mem1,size=1536M', '-numa', 'node,nodeid=1,cpus=3-5,memdev=numa-mem1'],
      // A comma inside a value is doubled, or QEMU would read " Inc." as the next option.
      ...['-smbios', 'type=1,manufacturer=Yagura,, Inc.,product=vm,serial=cs0001'],
      ...['-boot', 'reboot-timeout=30000'],
      ...['-netdev', 'tap,id=net0,ifname=yg-t7,script=no,downscript=no,queues=4'],
      ...['-device', `virtio-net-pci,netdev=net0,mac=${macAddress('dc1', 'rack0-cs1', 0)},mq=on,vectors=10`],
      ...['-netdev', 'tap,id=net1,ifname=yg-t8,script=no,downscript=no,queues=4'],
      ...['-device', `virtio-net-pci,netdev=net1,mac=${macAddress('dc1', 'rack0-cs1', 1)},mq=on,vectors=10`],
      ...['-fw_cfg', 'name=opt/com.coreos/config,file=/etc/dc/ign/cs1.ign'],
      ...tailFor('rack0-cs1'),
    ]);
  });

  it('a UEFI node with volumes and a TPM: OVMF pflash, no iPXE ROM, no PXE boot options, virtio drives, 9p, swtpm socket, a PXE-once boot', () => {
    const node = vmNode(
      'boot-0',
      'kind: Network',
      'name: r0',
      '---',
      'kind: Image',
      'name: debian',
      'file: debian.qcow2',
      '---',
      'kind: Node',
      'name: boot-0',
      'interfaces: [r0]',
      'cpu: 2',
      'uefi: true',
      'tpm: true',
      'smbios: {serial: boot0001}',
      'volumes:',
      '  - {kind: image, name: root, image: debian, copy-on-write: true}',
      '  - {kind: raw, name: data, size: 10G, format: raw, cache: writeback}',
      '  - {kind: hostPath, name: share, path: /srv/share}',
      '  - {kind: hostPath, name: out, path: /srv/out, writable: true}',
    );
    const volumes: AttachedVolume[] = [
      { kind: 'disk', name: 'root', path: `${DATA}/volumes/boot-0/root.img`, format: 'qcow2', cache: 'none' },
      { kind: 'disk', name: 'data', path: '/mnt/fast,disk/volumes/boot-0/data.img', format: 'raw', cache: 'writeback' },
      { kind: 'hostPath', name: 'share', path: '/srv/share', writable: false },
      { kind: 'hostPath', name: 'out', path: '/srv/out', writable: true },
    ];
    assert.deepEqual(argsOf(node, { volumes, boot: { device: 'pxe', once: true } }), [
      ...['-name', 'boot-0', '-no-user-config', '-nodefaults', '-machine', 'pc'],
      ...['-accel', 'tcg'],
      ...['-smp', 'cpus=2', '-m', '1024M'],
      ...['-smbios', 'type=1,serial=boot0001'],
      ...['-drive', 'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd'],
      ...['-drive', `if=pflash,format=raw,unit=1,file=${DATA}/nvram/boot-0.fd`],
      // OVMF skips its PXE boot options: HTTP Boot is the first network option.
      ...['-fw_cfg', 'name=opt/org.tianocore/IPv4PXESupport,string=n'],
      ...['-fw_cfg', 'name=opt/org.tianocore/IPv6PXESupport,string=n'],
      ...['-boot', 'once=n,reboot-timeout=30000'],
      ...['-netdev', 'tap,id=net0,ifname=yg-t0,script=no,downscript=no'],
      ...['-device', `virtio-net-pci,netdev=net0,mac=${macAddress('dc1', 'boot-0', 0)},romfile=`],
      ...['-drive', `if=virtio,cache=none,aio=native,format=qcow2,file=${DATA}/volumes/boot-0/root.img`],
      ...['-drive', 'if=virtio,cache=writeback,aio=threads,format=raw,file=/mnt/fast,,disk/volumes/boot-0/data.img'],
      ...['-virtfs', 'local,path=/srv/share,mount_tag=share,security_model=none,readonly=on'],
      ...['-virtfs', 'local,path=/srv/out,mount_tag=out,security_model=none'],
      ...['-chardev', `socket,id=tpm-chr,path=${RUN}/boot-0.tpm`],
      ...['-tpmdev', 'emulator,id=tpm0,chardev=tpm-chr', '-device', 'tpm-tis,tpmdev=tpm0'],
      ...tailFor('boot-0'),
    ]);
  });

  it('a direct-kernel node without interfaces: -kernel, -initrd and -append as given', () => {
    const node = vmNode(
      'test-0',
      'kind: Node',
      'name: test-0',
      'cpu: 1',
      'memory: 256M',
      'kernel: images/vmlinuz',
      'initrd: /srv/initrd.gz',
      'append: console=ttyS0 yagura.stay=1',
    );
    assert.deepEqual(argsOf(node), [
      ...['-name', 'test-0', '-no-user-config', '-nodefaults', '-machine', 'pc'],
      ...['-accel', 'tcg'],
      ...['-smp', 'cpus=1', '-m', '256M'],
      ...['-smbios', `type=1,serial=${node.smbios.serial}`],
      ...['-boot', 'reboot-timeout=30000'],
      ...['-kernel', '/etc/dc/images/vmlinuz', '-initrd', '/srv/initrd.gz', '-append', 'console=ttyS0 yagura.stay=1'],
      ...tailFor('test-0'),
    ]);
  });

  it('boot overrides: PXE once or always, disk', () => {
    const node = vmNode('n', 'kind: Node', 'name: n', 'cpu: 1');
    const bootOf = (args: string[]) => args[args.indexOf('-boot') + 1];
    assert.equal(bootOf(argsOf(node, { boot: { device: 'pxe', once: true } })), 'once=n,reboot-timeout=30000');
    assert.equal(bootOf(argsOf(node, { boot: { device: 'pxe', once: false } })), 'order=n,reboot-timeout=30000');
    assert.equal(bootOf(argsOf(node, { boot: { device: 'disk', once: true } })), 'order=c,reboot-timeout=30000');
    assert.equal(bootOf(argsOf(node, { boot: { device: 'disk', once: false } })), 'order=c,reboot-timeout=30000');
  });

  it('splits uneven NUMA layouts over maxcpus, the remainder of memory to the last node', () => {
    const node = vmNode('n', 'kind: Node', 'name: n', 'smp: {cpus: 2, maxcpus: 4}', 'numa: {nodes: 2}', 'memory: 1025M');
    const numa = argsOf(node).filter((_, i, args) => args[i - 1] === '-numa' || args[i - 1] === '-object');
    assert.deepEqual(numa.slice(0, 4), [
      'memory-backend-ram,id=numa-mem0,size=512M',
      'node,nodeid=0,cpus=0-1,memdev=numa-mem0',
      'memory-backend-ram,id=numa-mem1,size=513M',
      'node,nodeid=1,cpus=2-3,memdev=numa-mem1',
    ]);
  });

  it('refuses a tap list that does not match the interfaces', () => {
    const node = vmNode('n', 'kind: Network', 'name: a', '---', 'kind: Node', 'name: n', 'cpu: 1', 'interfaces: [a, a]');
    assert.throws(() => argsOf(node, { taps: ['yg-t0'] }), /node n has 2 interfaces but 1 taps were given/);
  });
});

describe('MAC addresses', () => {
  it('are stable per (DC, node, interface) and differ between them', () => {
    const mac = macAddress('dc1', 'rack0-cs1', 0);
    assert.match(mac, /^52:54:00(:[0-9a-f]{2}){3}$/);
    assert.equal(macAddress('dc1', 'rack0-cs1', 0), mac);
    const others = [macAddress('dc1', 'rack0-cs1', 1), macAddress('dc1', 'rack0-cs2', 0), macAddress('dc2', 'rack0-cs1', 0)];
    assert.equal(new Set([mac, ...others]).size, 4);
  });
});

describe('node paths', () => {
  it('puts sockets and logs in the run dir and firmware variables and TPM state in the data dir', () => {
    assert.deepEqual(nodePaths('/run/x', '/data/x', 'cs1'), {
      console: '/run/x/cs1.console',
      consoleLog: '/run/x/cs1.console.log',
      qmp: '/run/x/cs1.qmp',
      guest: '/run/x/cs1.guest',
      pid: '/run/x/cs1.pid',
      tpmSocket: '/run/x/cs1.tpm',
      tpmState: '/data/x/tpm/cs1',
      nvram: '/data/x/nvram/cs1.fd',
    });
  });

  it('refuses a socket path longer than a unix socket allows, naming it', () => {
    const runDir = `/run/${'d'.repeat(88)}`;
    assert.throws(
      () => nodePaths(runDir, '/data', 'node-1'),
      (error: unknown) =>
        error instanceof UserError &&
        error.message.includes(`${runDir}/node-1.console is 108 bytes`) &&
        error.message.includes('at most 107') &&
        error.message.includes('shorter run directory'),
    );
    assert.doesNotThrow(() => nodePaths(`/run/${'d'.repeat(87)}`, '/data', 'node-1')); // 107 bytes exactly
  });
});
