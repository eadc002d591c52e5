/** Which iPXE script a machine gets, from hand-made inputs. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chainScript, machineBootChoice, type MachineBootInputs } from '../../src/boot/ipxe.js';

const paths = { advertiseUrl: 'http://10.69.0.3:10080' };
const inputs = (extra: Partial<MachineBootInputs> = {}): MachineBootInputs => ({
  serial: 'VM-0001',
  role: 'worker',
  imageId: '3510.2.0',
  template: undefined,
  kernelParams: '',
  ...extra,
});
const lines = (script: string) => script.split('\n');

describe('machineBootChoice', () => {
  it('boots a registered machine with the newest image’s kernel and initrd, named by the image ID', () => {
    const choice = machineBootChoice(paths, inputs());
    assert.equal(choice.kind, 'boot');
    assert.equal(choice.status, 200);
    assert.deepEqual(lines(choice.script), [
      '#!ipxe',
      'echo Yagura: booting VM-0001 with image 3510.2.0',
      'kernel http://10.69.0.3:10080/api/v1/boot/coreos/images/3510.2.0/kernel initrd=initrd.gz yagura.serial=VM-0001',
      'initrd --name initrd.gz http://10.69.0.3:10080/api/v1/boot/coreos/images/3510.2.0/initrd.gz',
      'boot',
      '',
    ]);
  });

  it('adds the Ignition first-boot parameters and config URL when the role has a template', () => {
    const { script } = machineBootChoice(paths, inputs({ template: '1.0.0' }));
    assert.match(
      lines(script)[2]!,
      / ignition\.firstboot ignition\.platform\.id=metal ignition\.config\.url=http:\/\/10\.69\.0\.3:10080\/api\/v1\/boot\/ignitions\/VM-0001\/1\.0\.0$/,
    );
  });

  it('appends the kernel parameters (trimmed) after everything else, and none when they are blank', () => {
    const { script } = machineBootChoice(paths, inputs({ template: '1.0.0', kernelParams: '  console=ttyS0 quiet ' }));
    assert.match(lines(script)[2]!, /ignition\.config\.url=\S+ console=ttyS0 quiet$/);
    assert.match(lines(machineBootChoice(paths, inputs({ kernelParams: '   ' })).script)[2]!, /yagura\.serial=VM-0001$/);
  });

  it('escapes IDs in URLs', () => {
    const { script } = machineBootChoice(paths, inputs({ serial: 'A B', imageId: 'v1+rc', template: '1.0.0/x' }));
    assert.match(script, /images\/v1%2Brc\/kernel /);
    assert.match(script, /ignitions\/A%20B\/1\.0\.0%2Fx$/m);
  });

  it('tells an unregistered machine to register, with a retry, as a 404 — whatever images exist', () => {
    const choice = machineBootChoice(paths, inputs({ serial: 'NOPE-1', role: undefined }));
    assert.equal(choice.kind, 'unknown-machine');
    assert.equal(choice.status, 404);
    assert.deepEqual(lines(choice.script), [
      '#!ipxe',
      'echo Yagura: machine serial NOPE-1 is not registered; register it (yagura machines create) — retrying in 60s',
      'sleep 60',
      'reboot',
      '',
    ]);
    assert.match(machineBootChoice(paths, inputs({ serial: '', role: undefined })).script, /serial \(empty\) is not registered/);
  });

  it('tells a registered machine that no image has been uploaded yet, with a retry, as a 404', () => {
    const choice = machineBootChoice(paths, inputs({ imageId: undefined, template: '1.0.0' }));
    assert.equal(choice.kind, 'no-image');
    assert.equal(choice.status, 404);
    assert.equal(choice.script, '#!ipxe\necho Yagura: no OS image has been uploaded yet\nsleep 60\nreboot\n');
  });
});

describe('chainScript', () => {
  it('hands every iPXE client on to its per-machine script, the serial expanded by iPXE', () => {
    assert.equal(chainScript(paths), '#!ipxe\nchain --autofree http://10.69.0.3:10080/api/v1/boot/coreos/ipxe/${serial}\n');
  });
});
