/**
 * A whole virtual DC with a VM: `yagura dc up` boots the repo's test OS under
 * QEMU (TCG here) with a virtual BMC on the DC's bmc network; an operator
 * namespace on that network power-cycles it once with the real
 * `ipmitool -I lanplus` and once with curl against Redfish, and the console
 * log shows every boot. `dc power` goes through the same BMC; `dc down`
 * leaves no QEMU behind.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertOk } from '../helpers/cli.js';
import { TestDc, namespacesOf, processesOf } from '../helpers/dc.js';
import { tempDir } from '../helpers/temp.js';
import { MARKER, testImage } from '../helpers/test-image.js';

const BMC = '10.72.16.10';
const USER = 'admin';
const PASSWORD = 'yagura-bmc-pw';
const SERIAL = 'VDC-VM-0001';
const BOOT_LIMIT_MS = 120_000;

function topology(kernel: string, initrd: string): string {
  return `# One VM with a BMC, and an operator namespace on the bmc network.
kind: Network
name: bmc
type: bmc
address: 10.72.16.1/20
---
kind: Network
name: rack0
---
kind: NetworkNamespace
name: operation
interfaces:
  - network: bmc
    addresses: [10.72.16.2/20]
---
kind: Node
name: vm1
cpu: 1
memory: 256M
interfaces: [rack0]
smbios: { serial: ${SERIAL} }
kernel: ${kernel}
initrd: ${initrd}
append: console=ttyS0 yagura.stay=1
bmc: { username: ${USER}, password: ${PASSWORD}, address: ${BMC} }
`;
}

describe('yagura dc: a VM with a virtual BMC, driven by ipmitool and curl', () => {
  const dc = new TestDc('vm');
  const dir = tempDir('dc-vm');
  let consoleLog = '';
  let certificate = '';

  const boots = (): number => [...readFileSync(consoleLog, 'utf8').matchAll(new RegExp(MARKER.source, 'g'))].length;
  async function waitForBoots(count: number): Promise<void> {
    const deadline = Date.now() + BOOT_LIMIT_MS;
    while (boots() < count) {
      assert.ok(
        Date.now() < deadline,
        `console log shows ${boots()} boots, waited for ${count}:\n${readFileSync(consoleLog, 'utf8').slice(-2000)}`,
      );
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  const ipmitool = (password: string, ...command: string[]) =>
    dc.exec('operation', ['ipmitool', '-I', 'lanplus', '-H', BMC, '-U', USER, '-P', password, '-R', '2', '-N', '3', ...command]);

  before(async () => {
    const image = await testImage();
    const file = join(dir.path, 'vm.yml');
    writeFileSync(file, topology(image.vmlinuz, image.initrd));
    const up = await dc.up([file]);
    assertOk(up);
    assert.match(up.stderr, /BMCs: vm1 10\.72\.16\.10/);
    const status = JSON.parse((await dc.yagura(['dc', 'status', dc.name, '-o', 'json'])).stdout) as {
      members: { name: string; power?: string; bmc?: { address: string; certificate: string }; console?: string }[];
    };
    const vm = status.members.find((member) => member.name === 'vm1')!;
    assert.equal(vm.power, 'on');
    assert.equal(vm.bmc?.address, BMC);
    certificate = vm.bmc.certificate;
    consoleLog = `${dc.runDir}/vm/vm1.console.log`;
  });

  after(async () => {
    await dc.down();
    dc.dispose();
    dir.remove();
  });

  it('boots the test OS with its SMBIOS serial', async () => {
    await waitForBoots(1);
    assert.equal(readFileSync(consoleLog, 'utf8').match(MARKER)![1], SERIAL);
  });

  it('ipmitool -I lanplus reads the power state and power-cycles the VM; a wrong password changes nothing', async () => {
    const status = await ipmitool(PASSWORD, 'power', 'status');
    assertOk(status);
    assert.match(status.stdout, /Chassis Power is on/);
    const wrong = await ipmitool('not-the-password', 'power', 'off');
    assert.notEqual(wrong.code, 0);
    assert.match((await ipmitool(PASSWORD, 'power', 'status')).stdout, /Chassis Power is on/);
    const before = boots();
    assertOk(await ipmitool(PASSWORD, 'power', 'cycle'));
    await waitForBoots(before + 1);
  });

  it('Redfish over HTTPS with curl: unauthenticated reads are refused, PowerCycle power-cycles the VM', async () => {
    const system = `https://${BMC}/redfish/v1/Systems/System.Embedded.1`;
    const anonymous = await dc.exec('operation', ['curl', '-sk', '-o', '/dev/null', '-w', '%{http_code}', system]);
    assert.equal(anonymous.stdout, '401');
    const read = await dc.exec('operation', ['curl', '-sk', '-u', `${USER}:${PASSWORD}`, system]);
    assertOk(read);
    const body = JSON.parse(read.stdout) as { PowerState: string; SerialNumber: string };
    assert.equal(body.PowerState, 'On');
    assert.equal(body.SerialNumber, SERIAL);
    const before = boots();
    // Verified TLS: the BMC's own certificate names its IP address.
    const reset = await dc.exec('operation', [
      'curl',
      '-s',
      '--cacert',
      certificate,
      '-u',
      `${USER}:${PASSWORD}`,
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-H',
      'content-type: application/json',
      '-d',
      '{"ResetType":"PowerCycle"}',
      `${system}/Actions/ComputerSystem.Reset`,
    ]);
    assert.equal(reset.stdout, '204');
    await waitForBoots(before + 1);
  });

  it('dc power switches the VM off and reports it through the BMC', async () => {
    const off = await dc.yagura(['dc', 'power', 'vm1', 'off', '--dc', dc.name]);
    assertOk(off);
    assert.match(off.stdout, /vm1: power off \(off through its BMC/);
    assert.match((await ipmitool(PASSWORD, 'power', 'status')).stdout, /Chassis Power is off/);
    const table = await dc.yagura(['dc', 'status', dc.name]);
    assert.match(table.stdout, /^vm1\s+vm\s+off\s/m);
  });

  it('down removes the VM process, the namespaces and the run dir', async () => {
    const runDir = dc.runDir;
    assertOk(await dc.down());
    assert.deepEqual(namespacesOf(dc.name), []);
    assert.deepEqual(processesOf(runDir), []);
  });
});
