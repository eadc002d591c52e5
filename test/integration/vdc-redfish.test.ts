/**
 * The virtual BMC's Redfish service over real HTTPS, driven with /usr/bin/curl
 * (and node:https where headers matter) on 127.0.0.1, with a certificate
 * made by the real openssl. The machine behind the BMC is an in-memory
 * stand-in that records the calls the service makes; the QEMU-backed machine
 * is tested in vdc-vm.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { after, before, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { ensureCertificate, type CertificateFiles } from '../../src/vdc/bmc/certificate.js';
import type { BootOverride, ManagedMachine, PowerState } from '../../src/vdc/bmc/machine.js';
import { startRedfishServer, type RedfishServer } from '../../src/vdc/bmc/redfish/server.js';
import { tempDir } from '../helpers/temp.js';

const run = promisify(execFile);
const CURL = '/usr/bin/curl';
const USER = 'cybozu';
const PASSWORD = 'pa55-w0rd-not-logged';
const SYSTEM = '/redfish/v1/Systems/System.Embedded.1';
const SYSTEM_RESET = `${SYSTEM}/Actions/ComputerSystem.Reset`;
const CHASSIS = '/redfish/v1/Chassis/System.Embedded.1';
const CHASSIS_RESET = `${CHASSIS}/Actions/Chassis.Reset`;

/** Power and boot device in memory; shutdown() acts as a guest that obeys the power button at once. */
class InMemoryMachine implements ManagedMachine {
  readonly serial = 'SN-REDFISH-1';
  readonly name = 'rack0-cs1';
  state: PowerState = 'off';
  override: BootOverride | undefined;
  calls: string[] = [];
  /** Set to make the next power call fail, as a VM whose QEMU died would. */
  failure: string | undefined;

  power(): PowerState {
    return this.state;
  }
  async powerOn(): Promise<void> {
    this.calls.push('powerOn');
    this.state = 'on';
  }
  async powerOff(): Promise<void> {
    this.calls.push('powerOff');
    if (this.failure) throw new Error(this.failure);
    this.state = 'off';
  }
  async shutdown(): Promise<void> {
    this.calls.push('shutdown');
    this.state = 'off';
  }
  async reset(): Promise<void> {
    this.calls.push('reset');
    this.state = 'on';
  }
  async cycle(): Promise<void> {
    this.calls.push('cycle');
    this.state = 'on';
  }
  bootOverride(): BootOverride | undefined {
    return this.override;
  }
  setBootOverride(override: BootOverride | undefined): void {
    this.override = override;
  }
}

interface CurlResult {
  status: number;
  headers: Record<string, string>;
  body: string;
  json: Record<string, unknown>;
}

/** Runs curl and splits what it got into status, headers (lower-case names) and body. */
async function curl(path: string, args: string[] = [], base?: string): Promise<CurlResult> {
  const { stdout } = await run(CURL, ['-sS', '-D', '-', '--max-time', '10', ...args, `${base ?? url}${path}`]);
  const split = stdout.indexOf('\r\n\r\n');
  const head = stdout.slice(0, split).split('\r\n');
  const body = stdout.slice(split + 4);
  const status = Number(head[0]!.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  let json: Record<string, unknown> = {};
  if (body.trim() !== '') json = JSON.parse(body) as Record<string, unknown>;
  return { status, headers, body, json };
}

const auth = ['-k', '-u', `${USER}:${PASSWORD}`];
const post = (path: string, body: string, extra: string[] = auth) =>
  curl(path, [...extra, '-X', 'POST', '-H', 'Content-Type: application/json', '--data-raw', body]);
const patch = (path: string, body: string) =>
  curl(path, [...auth, '-X', 'PATCH', '-H', 'Content-Type: application/json', '--data-raw', body]);

/** The first MessageId and the message of a Redfish error body. */
function redfishError(result: CurlResult): { code: string; messageId: string; message: string } {
  const error = result.json.error as { code: string; message: string; '@Message.ExtendedInfo': { MessageId: string }[] };
  assert.ok(error, `expected a Redfish error body, got ${result.body}`);
  assert.ok(Array.isArray(error['@Message.ExtendedInfo']) && error['@Message.ExtendedInfo'].length > 0);
  return { code: error.code, messageId: error['@Message.ExtendedInfo'][0]!.MessageId, message: error.message };
}

let url: string;

describe('Redfish over HTTPS against an in-memory machine', () => {
  const dir = tempDir('redfish');
  const machine = new InMemoryMachine();
  const logLines: string[] = [];
  let tls: CertificateFiles;
  let server: RedfishServer;

  before(async () => {
    tls = await ensureCertificate(join(dir.path, 'bmc'), { commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'] });
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    server = await startRedfishServer({
      host: '127.0.0.1',
      port: 0,
      username: USER,
      password: PASSWORD,
      machine,
      tls,
      log: pino({ level: 'debug' }, sink),
    });
    url = `https://127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server?.close();
    dir.remove();
  });
  beforeEach(() => {
    machine.calls = [];
  });

  it('serves the version document and the service root without credentials', async () => {
    const versions = await curl('/redfish', ['-k']);
    assert.equal(versions.status, 200);
    assert.deepEqual(versions.json, { v1: '/redfish/v1/' });
    for (const path of ['/redfish/v1', '/redfish/v1/']) {
      const root = await curl(path, ['-k']);
      assert.equal(root.status, 200);
      assert.equal(root.headers['odata-version'], '4.0');
      assert.match(root.headers['content-type']!, /^application\/json/);
      assert.equal(root.json['@odata.id'], '/redfish/v1');
      assert.equal(root.json['@odata.type'], '#ServiceRoot.v1_5_0.ServiceRoot');
      assert.deepEqual(root.json.Systems, { '@odata.id': '/redfish/v1/Systems' });
      assert.deepEqual(root.json.Chassis, { '@odata.id': '/redfish/v1/Chassis' });
      assert.deepEqual(root.json.Managers, { '@odata.id': '/redfish/v1/Managers' });
      assert.deepEqual(root.json.SessionService, { '@odata.id': '/redfish/v1/SessionService' });
    }
  });

  it('answers 401 with a Basic challenge without credentials or with a wrong password, 200 with the right ones', async () => {
    for (const args of [
      ['-k'],
      ['-k', '-u', `${USER}:wrong`],
      ['-k', '-u', `admin:${PASSWORD}`],
      ['-k', '-H', 'X-Auth-Token: nope'],
    ]) {
      const refused = await curl(SYSTEM, args);
      assert.equal(refused.status, 401, `args ${args.join(' ')}`);
      assert.equal(refused.headers['www-authenticate'], 'Basic realm="Yagura BMC"');
      assert.equal(redfishError(refused).messageId, 'Base.1.8.NoValidSession');
      assert.equal(refused.json.PowerState, undefined);
    }
    // Unknown paths do not reveal themselves to strangers either.
    assert.equal((await curl('/redfish/v1/Nothing', ['-k'])).status, 401);

    machine.state = 'off';
    const system = await curl(SYSTEM, auth);
    assert.equal(system.status, 200);
    assert.equal(system.json['@odata.id'], SYSTEM);
    assert.equal(system.json.Id, 'System.Embedded.1');
    assert.equal(system.json.PowerState, 'Off');
    assert.equal(system.json.SerialNumber, 'SN-REDFISH-1');
    assert.equal(system.json.HostName, 'rack0-cs1');
    assert.deepEqual((system.json.Boot as Record<string, unknown>)['BootSourceOverrideTarget@Redfish.AllowableValues'], [
      'None',
      'Pxe',
      'Hdd',
    ]);
    const action = (system.json.Actions as Record<string, Record<string, unknown>>)['#ComputerSystem.Reset']!;
    assert.equal(action.target, SYSTEM_RESET);
    assert.deepEqual(action['ResetType@Redfish.AllowableValues'], [
      'On',
      'ForceOff',
      'GracefulShutdown',
      'ForceRestart',
      'PowerCycle',
    ]);
    machine.state = 'on';
    assert.equal((await curl(SYSTEM, auth)).json.PowerState, 'On');
  });

  it('carries out every ResetType on the machine and answers 204', async () => {
    machine.state = 'off';
    const steps: [string, string, PowerState][] = [
      ['On', 'powerOn', 'on'],
      ['ForceRestart', 'reset', 'on'],
      ['PowerCycle', 'cycle', 'on'],
      ['GracefulShutdown', 'shutdown', 'off'],
      ['On', 'powerOn', 'on'],
      ['ForceOff', 'powerOff', 'off'],
    ];
    for (const [resetType, call, after] of steps) {
      const result = await post(SYSTEM_RESET, JSON.stringify({ ResetType: resetType }));
      assert.equal(result.status, 204, `${resetType}: ${result.body}`);
      assert.equal(result.body, '');
      assert.equal(machine.calls.at(-1), call, resetType);
      assert.equal(machine.state, after, resetType);
      assert.equal((await curl(SYSTEM, auth)).json.PowerState, after === 'on' ? 'On' : 'Off');
    }
    assert.equal(machine.calls.length, steps.length);
  });

  it('answers 409 when the machine is already in the requested state, and does nothing', async () => {
    machine.state = 'on';
    const on = await post(SYSTEM_RESET, '{"ResetType":"On"}');
    assert.equal(on.status, 409);
    assert.equal(redfishError(on).messageId, 'Base.1.8.ChassisPowerStateOffRequired');
    machine.state = 'off';
    for (const resetType of ['ForceOff', 'GracefulShutdown']) {
      const off = await post(SYSTEM_RESET, JSON.stringify({ ResetType: resetType }));
      assert.equal(off.status, 409, resetType);
      assert.equal(redfishError(off).code, 'Base.1.8.GeneralError');
      assert.match(redfishError(off).message, new RegExp(`${resetType} needs System.Embedded.1 to be powered on`));
    }
    assert.deepEqual(machine.calls, []);
  });

  it('answers 400 naming the problem for bad reset requests', async () => {
    machine.state = 'on';
    const cases: [string, string, RegExp][] = [
      ['{"ResetType":"Nmi"}', 'Base.1.8.PropertyValueNotInList', /Nmi for the property ResetType .*On, ForceOff/],
      ['{"ResetType":7}', 'Base.1.8.PropertyValueTypeError', /ResetType/],
      ['{"Reset":"On"}', 'Base.1.8.ActionParameterUnknown', /invalid parameter Reset/],
      ['{"ResetType":"On"', 'Base.1.8.MalformedJSON', /malformed JSON/],
      ['[]', 'Base.1.8.MalformedJSON', /needs a JSON object, not an array/],
      ['', 'Base.1.8.MalformedJSON', /got none/],
      ['{}', 'Base.1.8.ActionParameterMissing', /requires the parameter ResetType/],
      ['{"ResetType":null}', 'Base.1.8.PropertyValueTypeError', /ResetType .*a string/],
    ];
    for (const [body, messageId, message] of cases) {
      const result = body === '' ? await curl(SYSTEM_RESET, [...auth, '-X', 'POST']) : await post(SYSTEM_RESET, body);
      assert.equal(result.status, 400, body);
      assert.equal(redfishError(result).messageId, messageId, body);
      assert.match(redfishError(result).message, message, body);
    }
    assert.deepEqual(machine.calls, []);
  });

  it('answers 404 for unknown resources and 405 with Allow for wrong methods, in Redfish format', async () => {
    const missing = await curl('/redfish/v1/Systems/System.Embedded.2', auth);
    assert.equal(missing.status, 404);
    assert.equal(redfishError(missing).messageId, 'Base.1.8.ResourceMissingAtURI');
    const wrong = await curl(SYSTEM, [...auth, '-X', 'DELETE']);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.allow, 'GET, PATCH');
    assert.match(redfishError(wrong).message, /DELETE is not allowed/);
    const getAction = await curl(SYSTEM_RESET, auth);
    assert.equal(getAction.status, 405);
    assert.equal(getAction.headers.allow, 'POST');
  });

  it('sets the boot override with PATCH and shows it on GET', async () => {
    const once = await patch(SYSTEM, '{"Boot":{"BootSourceOverrideTarget":"Pxe","BootSourceOverrideEnabled":"Once"}}');
    assert.equal(once.status, 200, once.body);
    assert.deepEqual(machine.override, { device: 'pxe', once: true });
    let boot = (await curl(SYSTEM, auth)).json.Boot as Record<string, unknown>;
    assert.equal(boot.BootSourceOverrideTarget, 'Pxe');
    assert.equal(boot.BootSourceOverrideEnabled, 'Once');

    assert.equal(
      (await patch(SYSTEM, '{"Boot":{"BootSourceOverrideTarget":"Hdd","BootSourceOverrideEnabled":"Continuous"}}')).status,
      200,
    );
    assert.deepEqual(machine.override, { device: 'disk', once: false });
    boot = (await curl(SYSTEM, auth)).json.Boot as Record<string, unknown>;
    assert.equal(boot.BootSourceOverrideTarget, 'Hdd');
    assert.equal(boot.BootSourceOverrideEnabled, 'Continuous');

    assert.equal((await patch(SYSTEM, '{"Boot":{"BootSourceOverrideEnabled":"Disabled"}}')).status, 200);
    assert.equal(machine.override, undefined);
    boot = (await curl(SYSTEM, auth)).json.Boot as Record<string, unknown>;
    assert.equal(boot.BootSourceOverrideTarget, 'None');
    assert.equal(boot.BootSourceOverrideEnabled, 'Disabled');
  });

  it('refuses unknown boot properties and values with 400 and leaves the override alone', async () => {
    machine.override = { device: 'pxe', once: true };
    const cases: [string, string, RegExp][] = [
      [
        '{"Boot":{"BootSourceOverrideTarget":"Cd"}}',
        'Base.1.8.PropertyValueNotInList',
        /Cd for the property Boot.BootSourceOverrideTarget/,
      ],
      ['{"Boot":{"BootSourceOverrideEnabled":"Always"}}', 'Base.1.8.PropertyValueNotInList', /Boot.BootSourceOverrideEnabled/],
      ['{"Boot":{"BootSourceOverrideMode":"UEFI"}}', 'Base.1.8.PropertyUnknown', /Boot.BootSourceOverrideMode/],
      ['{"PowerState":"On"}', 'Base.1.8.PropertyUnknown', /PowerState/],
      ['{"Boot":"Pxe"}', 'Base.1.8.PropertyValueTypeError', /Boot/],
      ['{"Boot":{}}', 'Base.1.8.EmptyJSON', /Boot needs/],
    ];
    for (const [body, messageId, message] of cases) {
      const result = await patch(SYSTEM, body);
      assert.equal(result.status, 400, body);
      assert.equal(redfishError(result).messageId, messageId, body);
      assert.match(redfishError(result).message, message, body);
    }
    assert.deepEqual(machine.override, { device: 'pxe', once: true });
    machine.override = undefined;
  });

  it('serves the chassis with its own reset (On and ForceOff only) and the manager', async () => {
    machine.state = 'on';
    const chassis = await curl(CHASSIS, auth);
    assert.equal(chassis.status, 200);
    assert.equal(chassis.json.PowerState, 'On');
    assert.equal(chassis.json['@odata.type'], '#Chassis.v1_6_0.Chassis');
    assert.equal((await post(CHASSIS_RESET, '{"ResetType":"ForceOff"}')).status, 204);
    assert.equal(machine.state, 'off');
    assert.equal((await post(CHASSIS_RESET, '{"ResetType":"ForceOff"}')).status, 409);
    assert.equal((await post(CHASSIS_RESET, '{"ResetType":"On"}')).status, 204);
    assert.equal(machine.state, 'on');
    const graceful = await post(CHASSIS_RESET, '{"ResetType":"GracefulShutdown"}');
    assert.equal(graceful.status, 400);
    assert.match(redfishError(graceful).message, /not in the list of acceptable values \(On, ForceOff\)/);
    assert.deepEqual(machine.calls, ['powerOff', 'powerOn']);

    const collections: [string, string][] = [
      ['/redfish/v1/Systems', SYSTEM],
      ['/redfish/v1/Chassis', CHASSIS],
      ['/redfish/v1/Managers', '/redfish/v1/Managers/iDRAC.Embedded.1'],
    ];
    for (const [path, member] of collections) {
      const list = await curl(path, auth);
      assert.equal(list.status, 200, path);
      assert.deepEqual(list.json.Members, [{ '@odata.id': member }], path);
      assert.equal(list.json['Members@odata.count'], 1, path);
    }
    const manager = await curl('/redfish/v1/Managers/iDRAC.Embedded.1', auth);
    assert.equal(manager.json.ManagerType, 'BMC');
    assert.deepEqual(manager.json.Links, {
      ManagerForServers: [{ '@odata.id': SYSTEM }],
      ManagerForChassis: [{ '@odata.id': CHASSIS }],
    });
  });

  it('logs in with a session, uses its token, logs out and then refuses the token', async () => {
    const refused = await post('/redfish/v1/SessionService/Sessions', JSON.stringify({ UserName: USER, Password: 'x' }), ['-k']);
    assert.equal(refused.status, 401);
    assert.equal(refused.headers['x-auth-token'], undefined);
    const missing = await post('/redfish/v1/SessionService/Sessions', JSON.stringify({ UserName: USER }), ['-k']);
    assert.equal(missing.status, 400);
    assert.match(redfishError(missing).message, /required property Password/);

    const login = await post('/redfish/v1/SessionService/Sessions', JSON.stringify({ UserName: USER, Password: PASSWORD }), [
      '-k',
    ]);
    assert.equal(login.status, 201, login.body);
    const token = login.headers['x-auth-token']!;
    const location = login.headers.location!;
    assert.match(token, /^[0-9a-f]{48}$/);
    assert.match(location, /^\/redfish\/v1\/SessionService\/Sessions\/\d+$/);
    assert.equal(login.json['@odata.id'], location);
    assert.equal(login.json.UserName, USER);

    const withToken = ['-k', '-H', `X-Auth-Token: ${token}`];
    assert.equal((await curl(SYSTEM, withToken)).status, 200);
    const sessions = await curl('/redfish/v1/SessionService/Sessions', withToken);
    assert.deepEqual(sessions.json.Members, [{ '@odata.id': location }]);
    assert.equal((await curl(location, withToken)).json.UserName, USER);
    assert.equal((await curl('/redfish/v1/SessionService', withToken)).json.ServiceEnabled, true);

    assert.equal((await curl(location, [...withToken, '-X', 'DELETE'])).status, 204);
    const after = await curl(SYSTEM, withToken);
    assert.equal(after.status, 401);
    assert.equal(redfishError(after).messageId, 'Base.1.8.NoValidSession');
    // A stale token is refused even when Basic credentials come with it.
    assert.equal((await curl(SYSTEM, [...auth, '-H', `X-Auth-Token: ${token}`])).status, 401);
    assert.equal((await curl(location, [...auth, '-X', 'DELETE'])).status, 404);
    assert.deepEqual((await curl('/redfish/v1/SessionService/Sessions', auth)).json.Members, []);

    const log = logLines.join('');
    assert.match(log, /session started/);
    assert.doesNotMatch(log, new RegExp(PASSWORD), 'the password never reaches the log');
    assert.doesNotMatch(log, new RegExp(token), 'tokens never reach the log');
  });

  it('reports a machine that fails to act with 500 and the reason', async () => {
    machine.state = 'on';
    machine.failure = 'QMP socket closed';
    try {
      const result = await post(SYSTEM_RESET, '{"ResetType":"ForceOff"}');
      assert.equal(result.status, 500);
      assert.equal(redfishError(result).messageId, 'Base.1.8.InternalError');
      assert.match(redfishError(result).message, /QMP socket closed/);
      assert.match(logLines.join(''), /"level":50.*QMP socket closed/);
    } finally {
      machine.failure = undefined;
    }
  });

  it('answers HEAD like GET without a body, with Allow', async () => {
    const { status, headers } = await new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = request(
        `${url}${SYSTEM}`,
        { method: 'HEAD', ca: readFileSync(tls.cert), auth: `${USER}:${PASSWORD}` },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 200);
    assert.equal(headers.allow, 'GET, PATCH');
  });

  it('refuses a body over 64 KiB with 413', async () => {
    const big = join(dir.path, 'big.json');
    writeFileSync(big, JSON.stringify({ ResetType: 'x'.repeat(70_000) }));
    const result = await curl(SYSTEM_RESET, [...auth, '-X', 'POST', '--data-binary', `@${big}`]);
    assert.equal(result.status, 413);
    assert.deepEqual(machine.calls, []);
  });

  it('makes a certificate for the BMC address that curl trusts with --cacert, without -k', async () => {
    const { stdout } = await run('openssl', ['x509', '-in', tls.cert, '-noout', '-ext', 'subjectAltName']);
    assert.match(stdout, /IP Address:127\.0\.0\.1/);
    const { stdout: text } = await run('openssl', ['x509', '-in', tls.cert, '-noout', '-text']);
    assert.match(text, /ASN1 OID: prime256v1/);
    assert.equal(statSync(tls.key).mode & 0o777, 0o600);

    const root = await curl('/redfish/v1', ['--cacert', tls.cert]);
    assert.equal(root.status, 200);
    // Without the certificate (and without -k) curl must refuse: the trust comes from --cacert.
    await assert.rejects(run(CURL, ['-sS', '--max-time', '10', `${url}/redfish/v1`]), /certificate/);
  });
});

describe('BMC certificates made with openssl', () => {
  const dir = tempDir('bmc-cert');
  after(() => dir.remove());

  it('reuses a matching certificate and replaces one for other addresses', async () => {
    const certDir = join(dir.path, 'node1');
    const first = await ensureCertificate(certDir, { commonName: '10.72.0.5', ipAddresses: ['10.72.0.5'] });
    const pem = readFileSync(first.cert, 'utf8');
    const again = await ensureCertificate(certDir, { commonName: '10.72.0.5', ipAddresses: ['10.72.0.5'] });
    assert.deepEqual(again, first);
    assert.equal(readFileSync(again.cert, 'utf8'), pem, 'same certificate: clients that pinned it keep working');

    await ensureCertificate(certDir, { commonName: '10.72.0.5', ipAddresses: ['10.72.0.5', '10.72.1.5'] });
    const { stdout } = await run('openssl', ['x509', '-in', first.cert, '-noout', '-ext', 'subjectAltName']);
    assert.match(stdout, /IP Address:10\.72\.0\.5, IP Address:10\.72\.1\.5/);
    assert.notEqual(readFileSync(first.cert, 'utf8'), pem);
    const { stdout: dates } = await run('openssl', ['x509', '-in', first.cert, '-noout', '-checkend', String(9 * 365 * 86400)]);
    assert.match(dates, /will not expire/, 'valid for about ten years');
  });

  it('replaces a certificate whose key file is not its own', async () => {
    const certDir = join(dir.path, 'node2');
    const files = await ensureCertificate(certDir, { commonName: 'bmc2', ipAddresses: ['127.0.0.1'] });
    const pem = readFileSync(files.cert, 'utf8');
    await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', files.key]);
    await ensureCertificate(certDir, { commonName: 'bmc2', ipAddresses: ['127.0.0.1'] });
    assert.notEqual(readFileSync(files.cert, 'utf8'), pem);
    const modulus = async (args: string[]) => (await run('openssl', args)).stdout;
    assert.equal(
      await modulus(['x509', '-in', files.cert, '-noout', '-pubkey']),
      await modulus(['pkey', '-in', files.key, '-pubout']),
    );
  });

  it('says so when openssl is missing, and refuses bad subjects', async () => {
    await assert.rejects(
      ensureCertificate(
        join(dir.path, 'node3'),
        { commonName: 'bmc3', ipAddresses: ['127.0.0.1'] },
        { openssl: '/nonexistent/openssl' },
      ),
      /\/nonexistent\/openssl was not found; install the Debian package openssl/,
    );
    await assert.rejects(
      ensureCertificate(dir.path, { commonName: 'a/CN=b', ipAddresses: ['127.0.0.1'] }),
      /commonName "a\/CN=b"/,
    );
    await assert.rejects(
      ensureCertificate(dir.path, { commonName: 'bmc', ipAddresses: ['rack0'] }),
      /"rack0" in ipAddresses is not an IP/,
    );
  });
});

describe('many Redfish BMCs in one process against in-memory machines', () => {
  const dir = tempDir('redfish-many');
  const servers: RedfishServer[] = [];
  after(async () => {
    await Promise.allSettled(servers.map((s) => s.close()));
    dir.remove();
  });

  it('starts 24 BMCs quickly, each answering for its own machine', async () => {
    const tls = await ensureCertificate(dir.path, { commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'] });
    const machines = Array.from({ length: 24 }, () => new InMemoryMachine());
    const started = performance.now();
    for (const machine of machines) {
      servers.push(await startRedfishServer({ host: '127.0.0.1', port: 0, username: USER, password: PASSWORD, machine, tls }));
    }
    const elapsed = performance.now() - started;
    // About a millisecond each on a quiet machine; the bound leaves room for a busy CI host.
    assert.ok(elapsed < 3000, `24 BMCs took ${elapsed.toFixed(0)} ms to start`);
    machines[7]!.state = 'on';
    const seventh = await curl(SYSTEM, auth, `https://127.0.0.1:${servers[7]!.port}`);
    const eighth = await curl(SYSTEM, auth, `https://127.0.0.1:${servers[8]!.port}`);
    assert.equal(seventh.json.PowerState, 'On');
    assert.equal(eighth.json.PowerState, 'Off');
  });

  it('refuses a port in use and an unreadable certificate with one clear line', async () => {
    const tls = await ensureCertificate(dir.path, { commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'] });
    const start = (options: { port?: number; tls?: typeof tls }) =>
      startRedfishServer({
        host: '127.0.0.1',
        port: 0,
        username: USER,
        password: PASSWORD,
        machine: new InMemoryMachine(),
        tls,
        ...options,
      });
    const busy = servers[0]!.port;
    await assert.rejects(start({ port: busy }), new RegExp(`cannot listen on 127.0.0.1:${busy}: the port is in use`));
    await assert.rejects(start({ tls: { ...tls, cert: join(dir.path, 'no.crt') } }), /cannot read the TLS certificate .*no\.crt/);
    await assert.rejects(start({ tls: { cert: tls.key, key: tls.key } }), /not a usable certificate and key/);
  });
});
