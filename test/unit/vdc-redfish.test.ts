/** The virtual BMC's Redfish decisions and resources, without a server. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BmcAccounts } from '../../src/vdc/bmc/accounts.js';
import { partsOf, STANDARD_LAYOUT } from '../../src/vdc/bmc/hardware.js';
import { parseBasic, authenticate } from '../../src/vdc/bmc/redfish/auth.js';
import { parseJsonObject } from '../../src/vdc/bmc/redfish/body.js';
import { nextBootOverride, parseSystemPatch } from '../../src/vdc/bmc/redfish/boot-override.js';
import { parseResetType, powerOperationFor } from '../../src/vdc/bmc/redfish/reset.js';
import {
  CHASSIS_RESET_TYPES,
  SYSTEM_RESET_TYPES,
  chassis,
  computerSystem,
  manager,
  serviceRoot,
  sessionsCollection,
  type MachineView,
} from '../../src/vdc/bmc/redfish/resources.js';
import { matchRoute, normalizePath, type Route } from '../../src/vdc/bmc/redfish/router.js';
import { SessionTable } from '../../src/vdc/bmc/redfish/sessions.js';
import { refusal } from './vdc-redfish-support.js';

const machine: MachineView = {
  name: 'rack1-cs2',
  serial: 'ABC123',
  power: 'on',
  bootOverride: undefined,
  parts: partsOf(STANDARD_LAYOUT),
  memoryMiB: 8192,
};

describe('Redfish resources', () => {
  it('links the service root to every collection the service has', () => {
    const root = serviceRoot();
    assert.equal(root['@odata.id'], '/redfish/v1');
    assert.equal(root['@odata.context'], '/redfish/v1/$metadata#ServiceRoot.ServiceRoot');
    for (const name of ['Systems', 'Chassis', 'Managers', 'SessionService']) {
      assert.deepEqual(root[name], { '@odata.id': `/redfish/v1/${name}` });
    }
  });

  it('reports the machine in the ComputerSystem the way iDRAC names things', () => {
    const system = computerSystem({ ...machine, power: 'off', bootOverride: { device: 'pxe', once: false } });
    assert.equal(system['@odata.id'], '/redfish/v1/Systems/System.Embedded.1');
    assert.equal(system['@odata.type'], '#ComputerSystem.v1_5_0.ComputerSystem');
    assert.equal(system.PowerState, 'Off');
    assert.equal(system.SerialNumber, 'ABC123');
    assert.equal(system.HostName, 'rack1-cs2');
    const boot = system.Boot as Record<string, unknown>;
    assert.equal(boot.BootSourceOverrideTarget, 'Pxe');
    assert.equal(boot.BootSourceOverrideEnabled, 'Continuous');
    assert.deepEqual(system.Links, {
      Chassis: [{ '@odata.id': '/redfish/v1/Chassis/System.Embedded.1' }],
      ManagedBy: [{ '@odata.id': '/redfish/v1/Managers/iDRAC.Embedded.1' }],
    });
    const disk = computerSystem({ ...machine, bootOverride: { device: 'disk', once: true } }).Boot as Record<string, unknown>;
    assert.equal(disk.BootSourceOverrideTarget, 'Hdd');
    assert.equal(disk.BootSourceOverrideEnabled, 'Once');
  });

  it('gives the chassis only the resets a chassis has, and the manager its firmware version', () => {
    const actions = chassis(machine).Actions as Record<string, Record<string, unknown>>;
    assert.deepEqual(actions['#Chassis.Reset']!['ResetType@Redfish.AllowableValues'], ['On', 'ForceOff']);
    assert.equal(chassis(machine).PowerState, 'On');
    const bmc = manager('1.2.3');
    assert.equal(bmc.Id, 'iDRAC.Embedded.1');
    assert.equal(bmc.FirmwareVersion, '1.2.3');
  });

  it('lists sessions by their paths', () => {
    const list = sessionsCollection([
      { id: '1', userName: 'a' },
      { id: '4', userName: 'b' },
    ]);
    assert.deepEqual(list.Members, [
      { '@odata.id': '/redfish/v1/SessionService/Sessions/1' },
      { '@odata.id': '/redfish/v1/SessionService/Sessions/4' },
    ]);
    assert.equal(list['Members@odata.count'], 2);
  });
});

describe('Redfish ResetType decisions', () => {
  it('maps each ResetType to one machine call', () => {
    assert.equal(powerOperationFor('On', 'off', 'S'), 'powerOn');
    assert.equal(powerOperationFor('ForceOff', 'on', 'S'), 'powerOff');
    assert.equal(powerOperationFor('GracefulShutdown', 'on', 'S'), 'shutdown');
    assert.equal(powerOperationFor('ForceRestart', 'on', 'S'), 'reset');
    assert.equal(powerOperationFor('PowerCycle', 'on', 'S'), 'cycle');
    // A restart or cycle of a machine that is off starts it, as a real server does.
    assert.equal(powerOperationFor('ForceRestart', 'off', 'S'), 'reset');
    assert.equal(powerOperationFor('PowerCycle', 'off', 'S'), 'cycle');
  });

  it('refuses with 409 what the power state makes pointless', () => {
    const on = refusal(() => powerOperationFor('On', 'on', 'System.Embedded.1'));
    assert.equal(on.status, 409);
    assert.match(on.message, /On needs System.Embedded.1 to be powered off, and it is on/);
    for (const resetType of ['ForceOff', 'GracefulShutdown'] as const) {
      assert.equal(refusal(() => powerOperationFor(resetType, 'off', 'S')).status, 409);
    }
  });

  it('reads ResetType strictly, naming the field', () => {
    assert.equal(parseResetType({ ResetType: 'PowerCycle' }, 'ComputerSystem.Reset', SYSTEM_RESET_TYPES), 'PowerCycle');
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{}, 'Base.1.8.ActionParameterMissing', /requires the parameter ResetType/],
      [{ ResetType: 'on' }, 'Base.1.8.PropertyValueNotInList', /on for the property ResetType/],
      [{ ResetType: ['On'] }, 'Base.1.8.PropertyValueTypeError', /ResetType/],
      [{ ResetType: 'On', Force: true }, 'Base.1.8.ActionParameterUnknown', /invalid parameter Force/],
    ];
    for (const [body, id, message] of cases) {
      const r = refusal(() => parseResetType(body, 'ComputerSystem.Reset', SYSTEM_RESET_TYPES));
      assert.equal(r.status, 400);
      assert.equal(r.id, id);
      assert.match(r.message, message);
    }
    const chassisOnly = refusal(() => parseResetType({ ResetType: 'PowerCycle' }, 'Chassis.Reset', CHASSIS_RESET_TYPES));
    assert.match(chassisOnly.message, /\(On, ForceOff\)/);
  });

  it('parses bodies as one JSON object and says what is wrong otherwise', () => {
    assert.deepEqual(parseJsonObject(' {"a":1} ', 'X'), { a: 1 });
    assert.match(refusal(() => parseJsonObject('', 'Chassis.Reset')).message, /Chassis.Reset needs a JSON object .* got none/);
    assert.match(refusal(() => parseJsonObject('"On"', 'X')).message, /not a string/);
    assert.match(refusal(() => parseJsonObject('null', 'X')).message, /not null/);
    assert.equal(refusal(() => parseJsonObject('{', 'X')).id, 'Base.1.8.MalformedJSON');
  });
});

describe('Redfish boot override decisions', () => {
  it('sets, changes and clears the override', () => {
    assert.deepEqual(nextBootOverride(undefined, { target: 'Pxe', enabled: 'Continuous' }), { device: 'pxe', once: false });
    assert.deepEqual(nextBootOverride({ device: 'pxe', once: false }, { target: 'Hdd' }), { device: 'disk', once: false });
    assert.deepEqual(nextBootOverride({ device: 'disk', once: true }, { enabled: 'Continuous' }), {
      device: 'disk',
      once: false,
    });
    assert.equal(nextBootOverride({ device: 'pxe', once: true }, { target: 'None' }), undefined);
    assert.equal(nextBootOverride({ device: 'pxe', once: true }, { enabled: 'Disabled' }), undefined);
    assert.equal(nextBootOverride({ device: 'pxe', once: true }, { target: 'Pxe', enabled: 'Disabled' }), undefined);
  });

  it('takes a device named without a duration as next boot only', () => {
    assert.deepEqual(nextBootOverride(undefined, { target: 'Pxe' }), { device: 'pxe', once: true });
    assert.equal(nextBootOverride(undefined, { enabled: 'Once' }), undefined, 'once, but to nothing');
  });

  it('accepts only Boot with its two writable properties', () => {
    assert.deepEqual(parseSystemPatch({ Boot: { BootSourceOverrideTarget: 'Hdd' } }), { target: 'Hdd' });
    assert.deepEqual(parseSystemPatch({ Boot: { BootSourceOverrideTarget: 'None', BootSourceOverrideEnabled: 'Disabled' } }), {
      target: 'None',
      enabled: 'Disabled',
    });
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{}, 'Base.1.8.EmptyJSON', /PATCH needs Boot/],
      [{ Boot: {} }, 'Base.1.8.EmptyJSON', /Boot needs/],
      [{ Boot: null }, 'Base.1.8.PropertyValueTypeError', /Boot .*an object/],
      [{ HostName: 'x' }, 'Base.1.8.PropertyUnknown', /HostName/],
      [
        { Boot: { BootSourceOverrideTarget: 'pxe' } },
        'Base.1.8.PropertyValueNotInList',
        /pxe for the property Boot.BootSourceOverrideTarget .*None, Pxe, Hdd/,
      ],
      [{ Boot: { BootSourceOverrideEnabled: true } }, 'Base.1.8.PropertyValueTypeError', /Boot.BootSourceOverrideEnabled/],
      [{ Boot: { UefiTargetBootSourceOverride: 'x' } }, 'Base.1.8.PropertyUnknown', /Boot.UefiTargetBootSourceOverride/],
    ];
    for (const [body, id, message] of cases) {
      const r = refusal(() => parseSystemPatch(body));
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.id, id, JSON.stringify(body));
      assert.match(r.message, message);
    }
  });
});

describe('Redfish routing', () => {
  const handler = () => ({ status: 200 });
  const routes: Route[] = [
    { path: '/redfish/v1', open: ['GET'], handlers: { GET: handler } },
    { path: '/redfish/v1/Things/:id', handlers: { GET: handler, DELETE: handler } },
  ];

  it('matches paths with and without a trailing slash or query, and captures parameters', () => {
    assert.equal(normalizePath('/redfish/v1/?$expand=.'), '/redfish/v1');
    assert.equal(normalizePath('/'), '/');
    const found = matchRoute(routes, 'DELETE', normalizePath('/redfish/v1/Things/7/'));
    assert.equal(found.kind, 'found');
    assert.deepEqual(found.kind === 'found' && found.params, { id: '7' });
    assert.equal(found.kind === 'found' && found.open, false);
  });

  it('tells a wrong method (with what is allowed) from a missing resource', () => {
    assert.deepEqual(matchRoute(routes, 'POST', '/redfish/v1/Things/7'), {
      kind: 'wrong-method',
      route: routes[1],
      allow: ['GET', 'DELETE'],
    });
    assert.deepEqual(matchRoute(routes, 'GET', '/redfish/v1/Things'), { kind: 'missing' });
    assert.deepEqual(matchRoute(routes, 'GET', '/redfish/v1/Things/7/x'), { kind: 'missing' });
    const head = matchRoute(routes, 'HEAD', '/redfish/v1');
    assert.equal(head.kind === 'found' && head.method, 'GET');
    assert.equal(head.kind === 'found' && head.open, true);
  });
});

describe('Redfish authentication', () => {
  const account = { username: 'root', password: 'calvin:x' };
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  it('decodes Basic credentials, keeping colons in the password', () => {
    assert.deepEqual(parseBasic(basic('root', 'calvin:x')), account);
    assert.equal(parseBasic('Bearer abc'), undefined);
    assert.equal(parseBasic(`Basic ${Buffer.from('no-colon').toString('base64')}`), undefined);
    assert.equal(parseBasic(undefined), undefined);
  });

  it('needs both the user name and the password to match', () => {
    const accounts = new BmcAccounts(account);
    const root = { userName: 'root', accountId: '2', role: 'Administrator' };
    assert.deepEqual(authenticate({ authorization: basic('root', 'calvin:x') }, accounts, new SessionTable()), root);
    for (const [user, password] of [
      ['root', 'calvin'],
      ['admin', 'calvin:x'],
      ['', ''],
    ] as const)
      assert.equal(authenticate({ authorization: basic(user, password) }, accounts, new SessionTable()), undefined);
  });

  it('lets a session token decide alone when one is sent, and only while its account is enabled', () => {
    const accounts = new BmcAccounts(account);
    const sessions = new SessionTable();
    const { token, session } = sessions.create('root')!;
    const root = { userName: 'root', accountId: '2', role: 'Administrator' };
    assert.deepEqual(authenticate({ 'x-auth-token': token }, accounts, sessions), { ...root, sessionId: session.id });
    assert.deepEqual(authenticate({ authorization: basic('root', 'calvin:x') }, accounts, sessions), root);
    sessions.delete(session.id);
    assert.equal(
      authenticate({ 'x-auth-token': token, authorization: basic('root', 'calvin:x') }, accounts, sessions),
      undefined,
    );

    const other = sessions.create('root')!;
    accounts.update('3', { userName: 'second', password: 'pw', role: 'Administrator', enabled: true });
    accounts.update('2', { enabled: false });
    assert.equal(
      authenticate({ 'x-auth-token': other.token }, accounts, sessions),
      undefined,
      'a disabled account has no sessions',
    );
  });
});

describe('Redfish session table (on a hand-driven clock)', () => {
  it('forgets sessions left idle for the timeout, and keeps used ones', () => {
    let now = 0;
    const sessions = new SessionTable({ idleTimeoutMs: 1000, now: () => now });
    const a = sessions.create('u')!;
    const b = sessions.create('u')!;
    assert.notEqual(a.token, b.token);
    assert.notEqual(a.session.id, b.session.id);
    now = 900;
    assert.ok(sessions.use(a.token));
    now = 1500;
    assert.ok(sessions.use(a.token), 'used 600 ms ago');
    assert.equal(sessions.use(b.token), undefined, 'idle for 1500 ms');
    assert.deepEqual(
      sessions.list().map((s) => s.id),
      [a.session.id],
    );
    assert.equal(sessions.get(b.session.id), undefined);
  });

  it('refuses new sessions at the limit until one ends', () => {
    const sessions = new SessionTable({ limit: 2 });
    const first = sessions.create('u')!;
    sessions.create('u');
    assert.equal(sessions.create('u'), undefined);
    assert.equal(sessions.delete(first.session.id), true);
    assert.equal(sessions.delete(first.session.id), false);
    assert.ok(sessions.create('u'));
  });
});
