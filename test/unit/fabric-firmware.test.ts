/** A server group's `firmware`: from the site spec through the plan to each VM node of dc.yml. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateSite, parseSiteSpec, planSite, SiteSpecError } from '../../src/fabric/index.js';
import { parseTopology } from '../../src/vdc/spec/index.js';

const SITE = `name: fw
racks: 2
boot-server: { kind: vm }
servers:
  - { role: cs, count: 1 }
  - { role: ss, count: 1, firmware: bios }
  - { role: lb, count: 1, kind: netns }
overrides:
  - rack: 1
    servers: [{ role: cs, count: 1, firmware: uefi }, { role: gpu, count: 1, firmware: bios }]
`;

function problems(text: string): string[] {
  try {
    parseSiteSpec({ path: 'site.yml', text });
  } catch (error) {
    assert.ok(error instanceof SiteSpecError, String(error));
    return error.message
      .split('\n')
      .slice(1)
      .map((line) => line.trim());
  }
  assert.fail('the spec was accepted');
}

describe('fabric: server firmware', () => {
  it('defaults to uefi and keeps what each group chose, overrides included', () => {
    const spec = parseSiteSpec({ path: 'fw.yml', text: SITE });
    assert.deepEqual(
      spec.racks.map((rack) => rack.servers.map((group) => `${group.role}:${group.firmware}`)),
      [
        ['cs:uefi', 'ss:bios', 'lb:uefi'],
        ['cs:uefi', 'gpu:bios'],
      ],
    );
    const plan = planSite(spec);
    assert.deepEqual(Object.fromEntries(plan.machines.map((machine) => [machine.name, machine.firmware])), {
      'boot-0': 'uefi',
      'rack0-cs1': 'uefi',
      'rack0-ss1': 'bios',
      'rack0-lb1': 'uefi',
      'boot-1': 'uefi',
      'rack1-cs1': 'uefi',
      'rack1-gpu1': 'bios',
    });
  });

  it('gives uefi VMs OVMF and bios VMs SeaBIOS in dc.yml', () => {
    const site = generateSite(parseSiteSpec({ path: 'fw.yml', text: SITE }));
    const dc = site.files.find((file) => file.path === 'dc.yml')!.content;
    const topology = parseTopology([{ path: 'dc.yml', text: dc }]);
    const uefi = Object.fromEntries(topology.nodes.filter((node) => node.type === 'vm').map((node) => [node.name, node.uefi]));
    assert.deepEqual(uefi, {
      'boot-0': true,
      'rack0-cs1': true,
      'rack0-ss1': false,
      'boot-1': true,
      'rack1-cs1': true,
      'rack1-gpu1': false,
    });
  });

  it('refuses other values and firmware on netns servers, with their places', () => {
    assert.deepEqual(problems('racks: 1\nservers:\n  - { role: cs, count: 1, firmware: efi }\n'), [
      'site.yml:3:37 servers[0].firmware: must be one of uefi, bios, found "efi"',
    ]);
    assert.deepEqual(problems('racks: 1\nservers:\n  - { role: ss, count: 1, kind: netns, firmware: bios }\n'), [
      'site.yml:3:50 servers[0].firmware: is only for kind: vm servers',
    ]);
  });
});
