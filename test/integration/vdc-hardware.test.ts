/**
 * Hardware health and BMC accounts end to end on 127.0.0.1: a virtual BMC
 * (Redfish over real HTTPS with an openssl certificate, IPMI over UDP) in
 * front of an in-memory machine, read by health's Redfish reader and judged
 * by the hardware rules; a part broken and mended at runtime; and the
 * AccountService provisioning that replaces the factory credentials for
 * Redfish and for the real ipmitool alike.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { provisionBmcAccount } from '../../src/health/bmc-account.js';
import { exportHardwareReadings } from '../../src/health/hardware-metrics.js';
import { DEFAULT_HARDWARE_RULES, failedHardwareRules } from '../../src/health/hardware-rules.js';
import { BmcReadError, readHardware, type Credentials } from '../../src/health/redfish-hardware.js';
import { bmcRequest } from '../../src/lib/bmc-https.js';
import { BmcAccounts } from '../../src/vdc/bmc/accounts.js';
import { ensureCertificate, type CertificateFiles } from '../../src/vdc/bmc/certificate.js';
import { MachineHardware } from '../../src/vdc/bmc/hardware.js';
import { startIpmiServer, type IpmiServer } from '../../src/vdc/bmc/ipmi/server.js';
import { startRedfishServer, type RedfishServer } from '../../src/vdc/bmc/redfish/server.js';
import { tempDir } from '../helpers/temp.js';
import { InMemoryMachine } from '../unit/vdc-ipmi-support.js';

const IPMITOOL = process.env.YAGURA_TEST_IPMITOOL ?? '/usr/bin/ipmitool';
const FACTORY: Credentials = { username: 'cybozu', password: 'cybozu' };
const PROVISIONED: Credentials = { username: 'yagura', password: 'n3w-Secret_fromStore' };
const SYSTEM = '/redfish/v1/Systems/System.Embedded.1';
const CHASSIS = '/redfish/v1/Chassis/System.Embedded.1';
const ACCOUNTS = '/redfish/v1/AccountService/Accounts';

/** One virtual BMC: Redfish and IPMI sharing the accounts and the hardware, as the DC supervisor runs them. */
class TestBmc {
  readonly machine = new InMemoryMachine();
  readonly hardware = new MachineHardware({ memoryMiB: 8192 });
  readonly accounts = new BmcAccounts(FACTORY);
  redfish!: RedfishServer;
  ipmi!: IpmiServer;

  async start(tls: CertificateFiles): Promise<this> {
    const common = { host: '127.0.0.1', port: 0, accounts: this.accounts, machine: this.machine };
    this.redfish = await startRedfishServer({ ...common, hardware: this.hardware, tls });
    this.ipmi = await startIpmiServer(common);
    return this;
  }

  get bmc() {
    return { host: '127.0.0.1', port: this.redfish.port };
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.redfish?.close(), this.ipmi?.close()]);
  }

  /** One Redfish request as `as`; the body parsed when there is one. */
  async call(as: Credentials, method: string, path: string, json?: unknown) {
    const reply = await bmcRequest({ ...this.bmc, ...as, timeoutMs: 10_000 }, method, path, json);
    return { status: reply.status, json: reply.body === '' ? {} : (JSON.parse(reply.body) as Record<string, unknown>) };
  }

  /** ipmitool -I lanplus as `as`, one try with a 2 s timeout; its exit code and output. */
  ipmitool(as: Credentials, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const argv = ['-I', 'lanplus', '-U', as.username, '-P', as.password, '-H', '127.0.0.1', '-p', String(this.ipmi.port)];
    return new Promise((resolve) => {
      execFile(IPMITOOL, [...argv, '-R', '1', '-N', '2', ...args], { timeout: 20_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
    });
  }
}

const messageId = (json: Record<string, unknown>) =>
  (json.error as { '@Message.ExtendedInfo': { MessageId: string }[] })['@Message.ExtendedInfo'][0]!.MessageId;

describe('hardware health through a virtual BMC', { timeout: 120_000 }, () => {
  const dir = tempDir('vdc-hardware');
  let tls: CertificateFiles;
  let bmc: TestBmc;

  before(async () => {
    tls = await ensureCertificate(join(dir.path, 'bmc'), { commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'] });
    bmc = await new TestBmc().start(tls);
  });
  after(async () => {
    await bmc?.close();
    dir.remove();
  });

  it('reads every drive, memory module, power supply and fan, all healthy, and the default rules pass', async () => {
    const readings = await readHardware(bmc.bmc, FACTORY);
    assert.deepEqual(
      readings.map((r) => `${r.kind} ${r.id} ${r.health}`),
      [
        'drive Disk.Direct.0-0:AHCI.Embedded.1-1 OK',
        'drive Disk.Direct.1-1:AHCI.Embedded.1-1 OK',
        'memory DIMM.Socket.A1 OK',
        'memory DIMM.Socket.A2 OK',
        'memory DIMM.Socket.A3 OK',
        'memory DIMM.Socket.A4 OK',
        'psu PSU.Slot.1 OK',
        'psu PSU.Slot.2 OK',
        'fan Fan.Embedded.1 OK',
        'fan Fan.Embedded.2 OK',
        'fan Fan.Embedded.3 OK',
        'fan Fan.Embedded.4 OK',
      ],
    );
    assert.deepEqual(failedHardwareRules(readings, DEFAULT_HARDWARE_RULES), []);
    const system = await bmc.call(FACTORY, 'GET', SYSTEM);
    assert.deepEqual(system.json.Status, { State: 'Enabled', Health: 'OK', HealthRollup: 'OK' });
  });

  it('a broken drive fails the drive rule and turns the HealthRollup Critical; mending it clears both', async () => {
    bmc.hardware.setHealth('drive0', 'Critical');
    const broken = await readHardware(bmc.bmc, FACTORY);
    assert.equal(broken.find((r) => r.id.startsWith('Disk.Direct.0-0'))!.health, 'Critical');
    assert.deepEqual(failedHardwareRules(broken, DEFAULT_HARDWARE_RULES), ['1 of 2 drives healthy, need 2']);
    for (const path of [SYSTEM, CHASSIS, `${SYSTEM}/Storage/AHCI.Embedded.1-1`]) {
      const status = (await bmc.call(FACTORY, 'GET', path)).json.Status as Record<string, string>;
      assert.equal(status.HealthRollup, 'Critical', path);
    }
    // The drive's own resource, with the ":" in its id escaped as a client may send it.
    const drive = await bmc.call(
      FACTORY,
      'GET',
      `${SYSTEM}/Storage/AHCI.Embedded.1-1/Drives/Disk.Direct.0-0%3AAHCI.Embedded.1-1`,
    );
    assert.deepEqual(drive.json.Status, { State: 'Enabled', Health: 'Critical' });
    const registry = new Registry();
    exportHardwareReadings(registry, 'SN-1', broken);
    assert.match(
      await registry.metrics(),
      /^yagura_hardware_part_healthy\{serial="SN-1",kind="drive",part="Disk\.Direct\.0-0:AHCI\.Embedded\.1-1"\} 0$/m,
    );

    bmc.hardware.setHealth('drive0', 'OK');
    const mended = await readHardware(bmc.bmc, FACTORY);
    assert.deepEqual(failedHardwareRules(mended, DEFAULT_HARDWARE_RULES), []);
    assert.equal(((await bmc.call(FACTORY, 'GET', SYSTEM)).json.Status as Record<string, string>).HealthRollup, 'OK');
  });

  it('one failed power supply is tolerated, both are not', async () => {
    bmc.hardware.setHealth('psu0', 'Critical');
    assert.deepEqual(failedHardwareRules(await readHardware(bmc.bmc, FACTORY), DEFAULT_HARDWARE_RULES), []);
    bmc.hardware.setHealth('psu1', 'Critical');
    assert.deepEqual(failedHardwareRules(await readHardware(bmc.bmc, FACTORY), DEFAULT_HARDWARE_RULES), [
      '0 of 2 power supplies healthy, need 1',
    ]);
    bmc.hardware.setHealth('psu0', 'OK');
    bmc.hardware.setHealth('psu1', 'OK');
  });

  it('fails a read with one clear line: wrong credentials, nobody listening, a BMC that never answers, another certificate', async () => {
    await assert.rejects(readHardware(bmc.bmc, { username: 'cybozu', password: 'wrong' }), (error: Error) => {
      assert.ok(error instanceof BmcReadError);
      assert.equal(error.status, 401);
      assert.equal(error.message, 'BMC 127.0.0.1: GET /redfish/v1/Systems: 401, the BMC refuses the credentials of user cybozu');
      return true;
    });

    const closed = await freePort();
    await assert.rejects(
      readHardware({ host: '127.0.0.1', port: closed }, FACTORY),
      new RegExp(
        `^BmcReadError: BMC 127\\.0\\.0\\.1: GET /redfish/v1/Systems: the BMC at 127\\.0\\.0\\.1:${closed} refused the connection`,
      ),
    );

    const silent = await silentServer();
    try {
      const started = Date.now();
      await assert.rejects(
        readHardware({ host: '127.0.0.1', port: silent.port, timeoutMs: 300 }, FACTORY),
        /did not answer GET \/redfish\/v1\/Systems within 0\.3 s/,
      );
      assert.ok(Date.now() - started < 5000);
    } finally {
      await silent.close();
    }

    const pinned = { ...bmc.bmc, ca: readFileSync(tls.cert) };
    assert.equal((await readHardware(pinned, FACTORY)).length, 12, 'the right certificate is trusted');
    const other = await ensureCertificate(join(dir.path, 'other'), { commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'] });
    await assert.rejects(
      readHardware({ ...bmc.bmc, ca: readFileSync(other.cert) }, FACTORY),
      /presented a certificate other than the one trusted for it/,
    );
  });
});

describe('BMC accounts through the AccountService, for Redfish and IPMI', { timeout: 180_000 }, () => {
  const dir = tempDir('vdc-accounts');
  let tls: CertificateFiles;
  const bmcs: TestBmc[] = [];
  const fresh = async () => {
    const bmc = await new TestBmc().start(tls);
    bmcs.push(bmc);
    return bmc;
  };

  before(async () => {
    tls = await ensureCertificate(join(dir.path, 'bmc'), { commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'] });
  });
  after(async () => {
    await Promise.allSettled(bmcs.map((bmc) => bmc.close()));
    dir.remove();
  });

  it("serves iDRAC's account slots: 16 of them, 1 reserved, 2 the factory Administrator, no password shown", async () => {
    const bmc = await fresh();
    const service = await bmc.call(FACTORY, 'GET', '/redfish/v1/AccountService');
    assert.equal(service.status, 200);
    assert.deepEqual(service.json.Accounts, { '@odata.id': ACCOUNTS });
    const root = await bmc.call(FACTORY, 'GET', '/redfish/v1');
    assert.deepEqual(root.json.AccountService, { '@odata.id': '/redfish/v1/AccountService' });
    const list = await bmc.call(FACTORY, 'GET', ACCOUNTS);
    assert.equal(list.json['Members@odata.count'], 16);
    const factory = await bmc.call(FACTORY, 'GET', `${ACCOUNTS}/2`);
    assert.equal(factory.json.UserName, 'cybozu');
    assert.equal(factory.json.RoleId, 'Administrator');
    assert.equal(factory.json.Password, null);
    assert.equal((await bmc.call(FACTORY, 'GET', `${ACCOUNTS}/1`)).json.Enabled, false);
    assert.equal((await bmc.call(FACTORY, 'GET', `${ACCOUNTS}/17`)).status, 404);
    const role = await bmc.call(FACTORY, 'GET', '/redfish/v1/AccountService/Roles/ReadOnly');
    assert.deepEqual(role.json.AssignedPrivileges, ['Login', 'ConfigureSelf']);
  });

  it('provisioning replaces the factory credentials for Redfish, sessions and ipmitool; repeating it changes nothing', async () => {
    const bmc = await fresh();
    assert.equal((await bmc.ipmitool(FACTORY, ['power', 'status'])).code, 0, 'ipmitool takes the factory credentials');
    const token = await login(bmc, FACTORY);
    assert.equal(await statusWithToken(bmc, token), 200);

    const result = await provisionBmcAccount(bmc.bmc, FACTORY, PROVISIONED);
    assert.deepEqual(result, { outcome: 'provisioned', accountId: '2' });

    assert.equal((await bmc.call(FACTORY, 'GET', SYSTEM)).status, 401, 'Redfish refuses the factory credentials');
    assert.equal((await bmc.call(PROVISIONED, 'GET', SYSTEM)).status, 200, 'and takes the new ones');
    const account = await bmc.call(PROVISIONED, 'GET', `${ACCOUNTS}/2`);
    assert.equal(account.json.UserName, 'yagura');
    assert.equal(account.json.RoleId, 'Administrator');
    assert.equal(await statusWithToken(bmc, token), 401, "the factory user's session ended with its password");

    const old = await bmc.ipmitool(FACTORY, ['power', 'status']);
    assert.notEqual(old.code, 0, 'ipmitool refuses the factory credentials');
    const now = await bmc.ipmitool(PROVISIONED, ['power', 'status']);
    assert.equal(now.code, 0, `ipmitool takes the new credentials: ${now.stderr}`);
    assert.match(now.stdout, /Chassis Power is (on|off)/);

    assert.deepEqual(await provisionBmcAccount(bmc.bmc, FACTORY, PROVISIONED), { outcome: 'already', accountId: '2' });
    await assert.rejects(
      provisionBmcAccount(bmc.bmc, FACTORY, { username: 'yagura', password: 'not-the-one' }),
      /refuses both the new credentials \(user yagura\) and the factory ones \(user cybozu\)/,
    );
  });

  it('uses an account that already has the new name, and disables the factory one', async () => {
    const bmc = await fresh();
    const set = await bmc.call(FACTORY, 'PATCH', `${ACCOUNTS}/5`, { UserName: 'yagura', Password: 'older', RoleId: 'ReadOnly' });
    assert.equal(set.status, 200);
    const result = await provisionBmcAccount(bmc.bmc, FACTORY, PROVISIONED);
    assert.deepEqual(result, { outcome: 'provisioned', accountId: '5', disabledFactoryAccount: '2' });
    assert.equal((await bmc.call(FACTORY, 'GET', SYSTEM)).status, 401);
    const five = await bmc.call(PROVISIONED, 'GET', `${ACCOUNTS}/5`);
    assert.deepEqual([five.json.Enabled, five.json.RoleId], [true, 'Administrator']);
    assert.equal((await bmc.ipmitool(PROVISIONED, ['power', 'status'])).code, 0);
  });

  it('lets only an Administrator change accounts, and keeps the last Administrator and unique names', async () => {
    const bmc = await fresh();
    const viewer = { username: 'viewer', password: 'look-only' };
    const created = await bmc.call(FACTORY, 'PATCH', `${ACCOUNTS}/3`, {
      UserName: viewer.username,
      Password: viewer.password,
      RoleId: 'ReadOnly',
      Enabled: true,
    });
    assert.equal(created.status, 200);
    assert.equal(created.json.Password, null);

    assert.equal((await bmc.call(viewer, 'GET', SYSTEM)).status, 200, 'a ReadOnly user reads');
    const escalate = await bmc.call(viewer, 'PATCH', `${ACCOUNTS}/3`, { RoleId: 'Administrator' });
    assert.equal(escalate.status, 403);
    assert.equal(messageId(escalate.json), 'Base.1.8.InsufficientPrivilege');
    const reset = await bmc.call(viewer, 'POST', `${SYSTEM}/Actions/ComputerSystem.Reset`, { ResetType: 'ForceOff' });
    assert.equal(reset.status, 403, 'nor may it switch the power');
    assert.deepEqual(bmc.machine.actions, []);
    const ipmiAdmin = await bmc.ipmitool(viewer, ['power', 'status']);
    assert.notEqual(ipmiAdmin.code, 0, 'ipmitool asks for ADMINISTRATOR, which a ReadOnly user cannot have');
    assert.equal((await bmc.ipmitool(viewer, ['-L', 'USER', 'power', 'status'])).code, 0, 'at USER level it reads');

    const last = await bmc.call(FACTORY, 'PATCH', `${ACCOUNTS}/2`, { Enabled: false });
    assert.equal(last.status, 400);
    assert.equal(messageId(last.json), 'Base.1.8.AccountNotModified');
    assert.match((last.json.error as { message: string }).message, /last enabled Administrator/);
    const duplicate = await bmc.call(FACTORY, 'PATCH', `${ACCOUNTS}/4`, { UserName: 'viewer' });
    assert.equal(messageId(duplicate.json), 'Base.1.8.ResourceAlreadyExists');
    const reserved = await bmc.call(FACTORY, 'PATCH', `${ACCOUNTS}/1`, { UserName: 'anonymous' });
    assert.equal(reserved.status, 400);
    const long = await bmc.call(FACTORY, 'PATCH', `${ACCOUNTS}/4`, { Password: 'a-password-far-too-long-for-ipmi' });
    assert.equal(messageId(long.json), 'Base.1.8.PropertyValueFormatError');
    assert.doesNotMatch(JSON.stringify(long.json), /far-too-long/);
  });
});

/** Logs in (POST SessionService/Sessions); the session token. */
function login(bmc: TestBmc, as: Credentials): Promise<string> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ UserName: as.username, Password: as.password });
    const req = httpsRequest(
      {
        ...bmc.bmc,
        method: 'POST',
        path: '/redfish/v1/SessionService/Sessions',
        rejectUnauthorized: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        const token = res.headers['x-auth-token'];
        if (res.statusCode === 201 && typeof token === 'string') resolve(token);
        else reject(new Error(`login answered ${res.statusCode}`));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The status of GET ComputerSystem with a session token. */
function statusWithToken(bmc: TestBmc, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { ...bmc.bmc, path: SYSTEM, rejectUnauthorized: false, headers: { 'x-auth-token': token } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A TCP server that accepts connections and never says a word, as a hung iDRAC does. */
async function silentServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
