import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressProblem, bmcAddress, chooseIndex, ipamProblems, leaseRange, nodeAddresses } from '../../src/inventory/ipam.js';
import type { IpamConfig } from '../../src/inventory/model.js';
import { EXAMPLE_IPAM } from '../fixtures/ipam.js';
import { planRegistration } from '../../src/inventory/registration.js';
import { formatIPv4, parseIPv4 } from '../../src/lib/ipv4.js';

describe('IPAM', () => {
  it('computes the reference example exactly: rack 1, index 5', () => {
    assert.deepEqual(nodeAddresses(EXAMPLE_IPAM, 1, 5).map(formatIPv4), ['10.69.0.197', '10.69.1.5', '10.69.1.69']);
    assert.equal(formatIPv4(bmcAddress(EXAMPLE_IPAM, 1, 5)), '10.72.17.37');
  });

  it('fills info with netmask, mask bits and the gateway of each address', () => {
    const plan = planRegistration(
      EXAMPLE_IPAM,
      [{ serial: 's', rack: 1, role: 'worker', bmc: { type: 'IPMI-2.0' } }],
      new Map([[1, new Set([4])]]),
      new Date(0),
    );
    assert.equal(plan.kind, 'ok');
    if (plan.kind !== 'ok') return;
    const machine = plan.machines[0]!;
    assert.equal(machine.spec['index-in-rack'], 5);
    assert.deepEqual(machine.info.network.ipv4[0], {
      address: '10.69.0.197',
      netmask: '255.255.255.192',
      maskbits: 26,
      gateway: '10.69.0.193',
    });
    assert.deepEqual(machine.info.bmc.ipv4, {
      address: '10.72.17.37',
      netmask: '255.255.240.0',
      maskbits: 20,
      gateway: '10.72.16.1',
    });
    assert.equal(machine.spec['retire-date'], '1970-01-01T00:00:00.000Z', 'retire date defaults to registration time');
    assert.equal(machine.status.state, 'uninitialized');
  });

  it('gives a boot server the index offset and others the first free index after it', () => {
    assert.deepEqual(chooseIndex(EXAMPLE_IPAM, 0, 'boot', new Set()), { index: 3 });
    assert.deepEqual(chooseIndex(EXAMPLE_IPAM, 0, 'boot', new Set([3])), { conflict: 'rack 0 already has a boot server' });
    assert.deepEqual(chooseIndex(EXAMPLE_IPAM, 0, 'worker', new Set([3, 4, 6])), { index: 5 });
    const full = new Set(Array.from({ length: 28 }, (_, i) => i + 4));
    assert.match(
      (chooseIndex(EXAMPLE_IPAM, 2, 'worker', full) as { conflict: string }).conflict,
      /rack 2 is full \(max-nodes-in-rack is 28\)/,
    );
  });

  it('computes the DHCP lease range of a rack segment (offsets 32–62 in the reference)', () => {
    const range = leaseRange(EXAMPLE_IPAM, parseIPv4('10.69.1.70')!);
    assert.equal(formatIPv4(range.first), '10.69.1.96');
    assert.equal(formatIPv4(range.last), '10.69.1.126');
    assert.equal(range.last - range.first + 1, 31);
  });

  it('refuses racks whose addresses fall outside the pools', () => {
    assert.equal(addressProblem(EXAMPLE_IPAM, 1, 5), undefined);
    // BMC: a /20 from offset 256 in steps of 32 holds racks 0..119.
    assert.equal(addressProblem(EXAMPLE_IPAM, 119, 31), undefined);
    assert.match(addressProblem(EXAMPLE_IPAM, 120, 5)!, /rack 120 is beyond bmc-ipv4-pool 10.72.16.0\/20/);
    // Nodes: 3 ranges of 64 per rack in a /16 hold racks 0..340.
    const wideBmc: IpamConfig = { ...EXAMPLE_IPAM, 'bmc-ipv4-pool': '10.80.0.0/12' };
    assert.equal(addressProblem(wideBmc, 340, 31), undefined);
    assert.match(addressProblem(wideBmc, 341, 5)!, /rack 341 is beyond node-ipv4-pool 10.69.0.0\/16/);
  });

  it('names the field of every inconsistency in a config', () => {
    assert.deepEqual(ipamProblems(EXAMPLE_IPAM), []);
    const fields = (c: Partial<IpamConfig>) => ipamProblems({ ...EXAMPLE_IPAM, ...c }).map((p) => p.field);
    assert.deepEqual(fields({ 'node-ipv4-pool': '10.69.0.1/16' }), ['node-ipv4-pool']);
    assert.deepEqual(fields({ 'bmc-ipv4-offset': '1.2.3' }), ['bmc-ipv4-offset']);
    assert.deepEqual(fields({ 'node-ipv4-range-mask': 27 }), ['node-ipv4-range-mask']);
    assert.deepEqual(fields({ 'max-nodes-in-rack': 60 }), ['max-nodes-in-rack', 'bmc-ipv4-range-size']);
    assert.deepEqual(fields({ 'node-gateway-offset': 64 }), ['node-gateway-offset']);
  });
});
