/**
 * The virtual BMC's hardware model, its Redfish resources and health
 * rollups, the supervisor's answer to `dc fault`, and the BMC's account table
 * with the AccountService PATCH parser — all without a server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BmcAccounts, IPMI_PRIVILEGE, hasPrivilege, type AccountView } from '../../src/vdc/bmc/accounts.js';
import { MachineHardware, STANDARD_LAYOUT, UnknownPartError, partsOf, worstHealth } from '../../src/vdc/bmc/hardware.js';
import { parseAccountPatch } from '../../src/vdc/bmc/redfish/account-patch.js';
import { account, accountsCollection } from '../../src/vdc/bmc/redfish/account-resources.js';
import { drive, power, storage, thermal } from '../../src/vdc/bmc/redfish/hardware-resources.js';
import { chassis, computerSystem, type MachineView } from '../../src/vdc/bmc/redfish/resources.js';
import { answerHardwareRequest, type VmHardware } from '../../src/vdc/supervisor/hardware-faults.js';
import { refusal } from './vdc-redfish-support.js';

function view(hardware: MachineHardware): MachineView {
  return {
    name: 'rack0-cs1',
    serial: 'SN1',
    power: 'on',
    bootOverride: undefined,
    parts: hardware.parts(),
    memoryMiB: hardware.memoryMiB,
  };
}

describe('the hardware model', () => {
  it('has 2 drives, 2 PSUs, 4 fans and 4 DIMMs by default, named for people and for Redfish', () => {
    const parts = new MachineHardware().parts();
    assert.deepEqual(
      parts.map((p) => p.name),
      ['drive0', 'drive1', 'psu0', 'psu1', 'fan0', 'fan1', 'fan2', 'fan3', 'dimm0', 'dimm1', 'dimm2', 'dimm3'],
    );
    assert.deepEqual(
      parts.filter((p) => p.index === 0).map((p) => p.redfishId),
      ['Disk.Direct.0-0:AHCI.Embedded.1-1', 'PSU.Slot.1', 'Fan.Embedded.1', 'DIMM.Socket.A1'],
    );
    assert.ok(parts.every((p) => p.health === 'OK'));
    assert.equal(partsOf({ ...STANDARD_LAYOUT, drive: 8 }).filter((p) => p.kind === 'drive').length, 8);
  });

  it('breaks and mends a part, rolls health up per kind, and hands out copies', () => {
    const hardware = new MachineHardware();
    assert.deepEqual(hardware.setHealth('drive1', 'Critical'), {
      part: { name: 'drive1', kind: 'drive', index: 1, redfishId: 'Disk.Direct.1-1:AHCI.Embedded.1-1', health: 'Critical' },
      was: 'OK',
    });
    assert.equal(hardware.rollup(), 'Critical');
    assert.equal(hardware.rollup(['drive']), 'Critical');
    assert.equal(hardware.rollup(['psu', 'fan', 'dimm']), 'OK');
    hardware.parts()[0]!.health = 'Critical';
    assert.equal(hardware.part('drive0').health, 'OK', 'a copy changed nothing');
    assert.equal(hardware.setHealth('drive1', 'OK').was, 'Critical');
    assert.equal(hardware.rollup(), 'OK');
    assert.equal(worstHealth([]), 'OK');
  });

  it('names every part when asked for one it does not have', () => {
    const hardware = new MachineHardware();
    assert.throws(() => hardware.setHealth('drive9', 'Critical'), UnknownPartError);
    assert.throws(
      () => hardware.part('disk0'),
      /^UnknownPartError: no part "disk0" \(parts: drive0, drive1, psu0, psu1, fan0, fan1, fan2, fan3, dimm0, dimm1, dimm2, dimm3\)$/,
    );
  });
});

describe('the hardware in Redfish', () => {
  it('rolls a broken drive up into the System and the Chassis, and a broken DIMM into the System only', () => {
    const hardware = new MachineHardware({ memoryMiB: 4096 });
    const ok = { State: 'Enabled', Health: 'OK', HealthRollup: 'OK' };
    const critical = { State: 'Enabled', Health: 'Critical', HealthRollup: 'Critical' };
    assert.deepEqual(computerSystem(view(hardware)).Status, ok);
    assert.deepEqual(chassis(view(hardware)).Status, ok);
    assert.equal((computerSystem(view(hardware)).MemorySummary as { TotalSystemMemoryGiB: number }).TotalSystemMemoryGiB, 4);

    hardware.setHealth('drive0', 'Critical');
    assert.deepEqual(computerSystem(view(hardware)).Status, critical);
    assert.deepEqual(chassis(view(hardware)).Status, critical);
    assert.deepEqual(storage(view(hardware)).Status, critical);
    const broken = drive(view(hardware), hardware.part('drive0'));
    assert.deepEqual(broken.Status, { State: 'Enabled', Health: 'Critical' });
    assert.equal(broken.FailurePredicted, true);

    hardware.setHealth('drive0', 'OK');
    hardware.setHealth('dimm2', 'Critical');
    assert.deepEqual(computerSystem(view(hardware)).Status, critical);
    assert.deepEqual(chassis(view(hardware)).Status, ok);
    assert.deepEqual((computerSystem(view(hardware)).MemorySummary as { Status: unknown }).Status, critical);
  });

  it('links the drives from their controller and the chassis, and lists PSUs and fans with their health', () => {
    const hardware = new MachineHardware();
    hardware.setHealth('psu1', 'Critical');
    hardware.setHealth('fan3', 'Critical');
    const drives = [
      { '@odata.id': '/redfish/v1/Systems/System.Embedded.1/Storage/AHCI.Embedded.1-1/Drives/Disk.Direct.0-0:AHCI.Embedded.1-1' },
      { '@odata.id': '/redfish/v1/Systems/System.Embedded.1/Storage/AHCI.Embedded.1-1/Drives/Disk.Direct.1-1:AHCI.Embedded.1-1' },
    ];
    assert.deepEqual(storage(view(hardware)).Drives, drives);
    assert.deepEqual((chassis(view(hardware)).Links as { Drives: unknown }).Drives, drives);
    const supplies = power(view(hardware)).PowerSupplies as { MemberId: string; Status: { Health: string } }[];
    assert.deepEqual(
      supplies.map((s) => [s.MemberId, s.Status.Health]),
      [
        ['PSU.Slot.1', 'OK'],
        ['PSU.Slot.2', 'Critical'],
      ],
    );
    const fans = thermal(view(hardware)).Fans as { MemberId: string; Reading: number; Status: { Health: string } }[];
    assert.deepEqual(
      fans.map((f) => [f.MemberId, f.Status.Health, f.Reading > 0]),
      [
        ['Fan.Embedded.1', 'OK', true],
        ['Fan.Embedded.2', 'OK', true],
        ['Fan.Embedded.3', 'OK', true],
        ['Fan.Embedded.4', 'Critical', false],
      ],
    );
  });
});

describe('the supervisor answering dc fault', () => {
  const vms = () =>
    new Map<string, VmHardware>([
      ['rack0-cs1', { hardware: new MachineHardware(), hasBmc: true }],
      ['rack0-cs2', { hardware: new MachineHardware(), hasBmc: true }],
      ['lonely', { hardware: new MachineHardware(), hasBmc: false }],
    ]);

  it('breaks, mends and lists parts, saying what each part was', () => {
    const machines = vms();
    const broken = answerHardwareRequest(machines, { op: 'fault', node: 'rack0-cs1', part: 'drive0' });
    assert.deepEqual(broken.changed, { part: 'drive0', from: 'OK', to: 'Critical' });
    assert.equal(broken.parts.find((p) => p.name === 'drive0')!.health, 'Critical');
    assert.equal(machines.get('rack0-cs1')!.hardware.rollup(), 'Critical');
    assert.equal(machines.get('rack0-cs2')!.hardware.rollup(), 'OK', 'the other machine is untouched');
    const again = answerHardwareRequest(machines, { op: 'fault', node: 'rack0-cs1', part: 'drive0' });
    assert.deepEqual(again.changed, { part: 'drive0', from: 'Critical', to: 'Critical' });
    const mended = answerHardwareRequest(machines, { op: 'fault', node: 'rack0-cs1', part: 'drive0', mend: true });
    assert.deepEqual(mended.changed, { part: 'drive0', from: 'Critical', to: 'OK' });
    const list = answerHardwareRequest(machines, { op: 'hardware', node: 'rack0-cs1' });
    assert.equal(list.changed, undefined);
    assert.equal(list.parts.length, 12);
    assert.deepEqual(list.parts[2], { name: 'psu0', kind: 'psu', redfishId: 'PSU.Slot.1', health: 'OK' });
  });

  it('names the VMs for an unknown node, the parts for an unknown part, and refuses a VM without a BMC', () => {
    const machines = vms();
    assert.throws(
      () => answerHardwareRequest(machines, { op: 'fault', node: 'nope', part: 'drive0' }),
      /^Error: no VM node "nope" \(VMs: rack0-cs1, rack0-cs2, lonely\)$/,
    );
    assert.throws(
      () => answerHardwareRequest(machines, { op: 'fault', node: 'rack0-cs1', part: 'psu7' }),
      /no part "psu7" \(parts: drive0, .*, dimm3\)/,
    );
    assert.throws(() => answerHardwareRequest(machines, { op: 'hardware', node: 'lonely' }), /lonely has no BMC/);
    assert.throws(() => answerHardwareRequest(new Map(), { op: 'hardware', node: 'x' }), /\(VMs: none\)/);
  });
});

describe("the BMC's account table", () => {
  const factory = { username: 'cybozu', password: 'cybozu' };
  const isRefusal = (result: AccountView | { refused: string }): result is { refused: string; message: string } =>
    'refused' in result;

  it("has iDRAC's 16 slots: 1 the reserved anonymous user, 2 the factory Administrator, the rest empty", () => {
    const accounts = new BmcAccounts(factory);
    const list = accounts.list();
    assert.equal(list.length, 16);
    assert.deepEqual(list[0], { id: '1', userName: '', enabled: false, role: 'None' });
    assert.deepEqual(list[1], { id: '2', userName: 'cybozu', enabled: true, role: 'Administrator' });
    assert.ok(list.slice(2).every((a) => a.userName === '' && !a.enabled && a.role === 'None'));
    assert.deepEqual(accounts.administrator(), factory);
    assert.equal(accounts.get('0'), undefined);
    assert.equal(accounts.get('17'), undefined);
    assert.equal(accounts.get('02'), undefined);
    assert.throws(() => new BmcAccounts({ username: 'a:b', password: 'x' }), /factory account is unusable: a user name is/);
  });

  it('opens only enabled accounts, with both halves right, and tells IPMI the password of a named user', () => {
    const accounts = new BmcAccounts(factory);
    assert.equal(accounts.authenticate('cybozu', 'cybozu')?.id, '2');
    assert.equal(accounts.authenticate('cybozu', 'wrong'), undefined);
    assert.equal(accounts.authenticate('', ''), undefined, 'an empty slot opens nothing');
    accounts.update('3', { userName: 'viewer', password: 'look', role: 'ReadOnly' });
    assert.equal(accounts.authenticate('viewer', 'look'), undefined, 'a disabled account opens nothing');
    accounts.update('3', { enabled: true });
    assert.deepEqual(accounts.authenticate('viewer', 'look'), { id: '3', userName: 'viewer', enabled: true, role: 'ReadOnly' });
    assert.equal(accounts.secretOf('viewer')?.password, 'look');
    assert.equal(accounts.secretOf('nobody'), undefined);
    assert.equal(IPMI_PRIVILEGE.ReadOnly, 2);
    assert.equal(hasPrivilege('ReadOnly', 'ConfigureComponents'), false);
    assert.equal(hasPrivilege('Operator', 'ConfigureComponents'), true);
    assert.equal(hasPrivilege('Operator', 'ConfigureUsers'), false);
  });

  it('keeps the table whole: the anonymous slot, unique names, complete enabled accounts, one Administrator', () => {
    const accounts = new BmcAccounts(factory);
    const refused = (id: string, change: Parameters<BmcAccounts['update']>[1]) => {
      const result = accounts.update(id, change);
      assert.ok(isRefusal(result), `expected a refusal for ${id} ${JSON.stringify(change)}`);
      return result;
    };
    assert.equal(refused('1', { userName: 'anon' }).refused, 'reserved');
    assert.equal(refused('17', { userName: 'x' }).refused, 'missing');
    assert.equal(refused('3', { userName: 'cybozu', password: 'p' }).refused, 'duplicate-name');
    assert.equal(refused('3', { enabled: true }).refused, 'incomplete');
    assert.match(refused('2', { enabled: false }).message, /last enabled Administrator/);
    assert.equal(refused('2', { role: 'Operator' }).refused, 'last-administrator');
    assert.equal(refused('2', { userName: '' }).refused, 'last-administrator');
    assert.deepEqual(
      accounts.list()[1],
      { id: '2', userName: 'cybozu', enabled: true, role: 'Administrator' },
      'nothing changed',
    );

    accounts.update('4', { userName: 'yagura', password: 's3cret', role: 'Administrator', enabled: true });
    assert.deepEqual(accounts.update('2', { userName: '' }), { id: '2', userName: '', enabled: false, role: 'None' });
    assert.equal(accounts.authenticate('cybozu', 'cybozu'), undefined);
    assert.deepEqual(accounts.administrator(), { username: 'yagura', password: 's3cret' });
  });
});

describe('the AccountService PATCH body', () => {
  it('takes UserName, Password, Enabled and RoleId', () => {
    assert.deepEqual(parseAccountPatch({ UserName: 'yagura', Password: 'pw', Enabled: true, RoleId: 'Administrator' }), {
      userName: 'yagura',
      password: 'pw',
      enabled: true,
      role: 'Administrator',
    });
    assert.deepEqual(parseAccountPatch({ UserName: '' }), { userName: '' });
  });

  it('refuses unknown properties, wrong types and values IPMI could not use, never echoing a password', () => {
    assert.equal(refusal(() => parseAccountPatch({})).id, 'Base.1.8.EmptyJSON');
    assert.equal(refusal(() => parseAccountPatch({ Locked: false })).id, 'Base.1.8.PropertyUnknown');
    assert.equal(refusal(() => parseAccountPatch({ Enabled: 'yes' })).id, 'Base.1.8.PropertyValueTypeError');
    assert.equal(refusal(() => parseAccountPatch({ RoleId: 'Root' })).id, 'Base.1.8.PropertyValueNotInList');
    assert.equal(refusal(() => parseAccountPatch({ UserName: 'has space' })).id, 'Base.1.8.PropertyValueFormatError');
    const long = 'twenty-one-characters';
    const tooLong = refusal(() => parseAccountPatch({ Password: long }));
    assert.equal(tooLong.id, 'Base.1.8.PropertyValueFormatError');
    assert.doesNotMatch(tooLong.message, new RegExp(long));
    assert.doesNotMatch(refusal(() => parseAccountPatch({ Password: 12345 })).message, /12345/);
  });

  it('shows accounts without their passwords', () => {
    const accounts = new BmcAccounts({ username: 'cybozu', password: 'cybozu' });
    const factory = account(accounts.get('2')!);
    assert.equal(factory['@odata.id'], '/redfish/v1/AccountService/Accounts/2');
    assert.equal(factory.Password, null);
    assert.equal(factory.RoleId, 'Administrator');
    assert.deepEqual(factory.Links, { Role: { '@odata.id': '/redfish/v1/AccountService/Roles/Administrator' } });
    assert.doesNotMatch(JSON.stringify(accountsCollection(accounts.list())), /cybozu/);
    assert.equal(accountsCollection(accounts.list())['Members@odata.count'], 16);
  });
});
