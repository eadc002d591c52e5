/**
 * The repair queue in `yagura serve`, for real: a serve on its embedded store,
 * whose IPAM puts the machines' BMCs on loopback addresses (127.N.1.x), where
 * the repo's virtual BMCs answer, IPMI to the real ipmitool and Redfish over
 * HTTPS, each in front of an in-memory machine whose power actions the test
 * reads. Machines are registered and their states set by hand with the CLI
 * (no state setter runs); the server allows no address, so every change needs
 * a token. With short durations through the flags: nothing is repaired while
 * no BMC credentials are set; a machine unreachable for longer than
 * --repair-after is power-cycled through IPMI, another through Redfish, and
 * turning them healthy closes their repairs as succeeded; one whose BMC does
 * not answer is escalated to retiring after --repair-attempts, with the reason
 * in the audit log; three machines unreachable in one rack are repaired one
 * at a time, oldest first; pause, cancel and resume work through the CLI and
 * are in the audit log under the token's name; the metrics count it all.
 * Every BMC lives in this process and only loopback addresses are used.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureCertificate } from '../../src/vdc/bmc/certificate.js';
import { type IpmiServer, startIpmiServer } from '../../src/vdc/bmc/ipmi/server.js';
import { type RedfishServer, startRedfishServer } from '../../src/vdc/bmc/redfish/server.js';
import { EXAMPLE_IPAM } from '../fixtures/ipam.js';
import { assertOk, type Finished, RunningYagura, runYagura } from '../helpers/cli.js';
import { registerCleanup } from '../helpers/netns.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/temp.js';
import { InMemoryMachine } from '../unit/vdc-ipmi-support.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const BMC_USER = 'repair';
const BMC_PASSWORD = 'n0t-in-any-log-9f3';

interface Entry {
  serial: string;
  rack: number;
  state: string;
  status: string;
  note: string;
  attempts: number;
  lastError?: string;
}
interface View {
  paused: boolean;
  switchedBy: string;
  credentials: boolean;
  leader: string;
  repairs: Entry[];
}
interface AuditLine {
  user: string;
  category: string;
  instance: string;
  action: string;
  detail: string;
}

describe('the repair queue in yagura serve, with the virtual BMCs on loopback', { timeout: 600_000 }, () => {
  const dir = tempDir('repair-queue');
  // One /16 of loopback for this run's BMCs, so that two runs on one host do not meet.
  const net = 100 + Math.floor(Math.random() * 100);
  const machines = new Map<string, InMemoryMachine>();
  const bmcs: (IpmiServer | RedfishServer)[] = [];
  let server: RunningYagura | undefined;
  let unregister = () => {};
  let url = '';
  let token = '';

  const cli = (args: string[], withToken = true): Promise<Finished> =>
    runYagura([...args, '--server', url], withToken ? { env: { YAGURA_TOKEN: token } } : {});
  const ok = async (args: string[]): Promise<string> => {
    const result = await cli(args);
    assertOk(result);
    return result.stdout;
  };
  const view = async (): Promise<View> => JSON.parse(await ok(['repairs', 'list', '-o', 'json'])) as View;
  const entry = async (serial: string): Promise<Entry | undefined> => (await view()).repairs.find((e) => e.serial === serial);
  const setState = (serial: string, state: string) => ok(['machines', 'set-state', serial, state]);
  const actionsOf = (serial: string) => machines.get(serial)!.actions;
  const audit = async (): Promise<AuditLine[]> =>
    (await ok(['logs', '-o', 'json']))
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as AuditLine);
  const metrics = () => fetch(`${url}/metrics`).then((response) => response.text());

  async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 90_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = await probe();
      if (found !== undefined && found !== false) return found;
      if (Date.now() > deadline)
        assert.fail(
          `${what} within ${timeoutMs / 1000} s\nqueue: ${JSON.stringify(await view(), null, 1)}\n${server?.stdout.slice(-4000)}`,
        );
      await sleep(500);
    }
  }

  before(async () => {
    const tokenFile = join(dir.path, 'tokens');
    const added = await runYagura(['token', 'add', 'ops', '--token-file', tokenFile]);
    assertOk(added);
    token = added.stdout.trim();
    const [port, ipmiPort, redfishPort] = [await freePort(), await freePort(), await freePort()];
    url = `http://127.0.0.1:${port}`;
    server = new RunningYagura(
      [
        'serve',
        '--listen',
        `127.0.0.1:${port}`,
        '--data-dir',
        join(dir.path, 'data'),
        // No client address may change things without a token (192.0.2.1 is a documentation address: never reached).
        '--allow-ips',
        '192.0.2.1',
        '--token-file',
        tokenFile,
        '--repair-after',
        '2s',
        '--repair-wait',
        '10s',
        '--repair-attempts',
        '2',
        '--repair-max',
        '4',
        '--repair-per-rack',
        '1',
        '--repair-interval',
        '1s',
      ],
      { YAGURA_BMC_IPMI_PORT: String(ipmiPort), YAGURA_BMC_REDFISH_PORT: String(redfishPort) },
    );
    const child = server.child;
    unregister = registerCleanup(() => child.exitCode === null && child.kill('SIGKILL'));
    await server.waitFor('"serving"');

    const ipam = join(dir.path, 'ipam.json');
    writeFileSync(ipam, JSON.stringify({ ...EXAMPLE_IPAM, 'bmc-ipv4-pool': `127.${net}.0.0/16` }));
    await ok(['ipam', 'set', '-f', ipam]);
    const specs = [
      { serial: 'I1', rack: 0, type: 'IPMI-2.0' },
      { serial: 'R1', rack: 1, type: 'iDRAC-9' },
      { serial: 'D1', rack: 2, type: 'iDRAC-9' }, // its BMC never answers
      { serial: 'Q1', rack: 3, type: 'IPMI-2.0' },
      { serial: 'Q2', rack: 3, type: 'IPMI-2.0' },
      { serial: 'Q3', rack: 3, type: 'IPMI-2.0' },
    ];
    const file = join(dir.path, 'machines.json');
    writeFileSync(file, JSON.stringify(specs.map(({ serial, rack, type }) => ({ serial, rack, role: 'cs', bmc: { type } }))));
    await ok(['machines', 'create', '-f', file]);
    const registered = JSON.parse(await ok(['machines', 'get', '-o', 'json'])) as {
      spec: { serial: string; bmc: { ipv4: string } };
    }[];
    const tls = await ensureCertificate(join(dir.path, 'bmc-tls'), { commonName: 'bmc', ipAddresses: ['127.0.0.1'] });
    for (const { spec } of registered) {
      const { serial } = spec;
      const address = spec.bmc.ipv4;
      assert.match(address, new RegExp(`^127\\.${net}\\.1\\.\\d+$`), 'every BMC is on loopback');
      if (serial === 'D1') continue;
      const machine = new InMemoryMachine();
      machine.state = 'on';
      machines.set(serial, machine);
      const common = { host: address, username: BMC_USER, password: BMC_PASSWORD, machine };
      bmcs.push(
        serial === 'R1'
          ? await startRedfishServer({ ...common, port: redfishPort, tls })
          : await startIpmiServer({ ...common, port: ipmiPort }),
      );
    }
    for (const { serial } of specs) await setState(serial, 'healthy');
  });

  after(async () => {
    await server?.stop();
    unregister();
    await Promise.all(bmcs.map((bmc) => bmc.close()));
    dir.remove();
  });

  it('refuses a change to the queue or the BMC credentials without a token', async () => {
    const pause = await cli(['repairs', 'pause'], false);
    assert.equal(pause.code, 1);
    assert.match(pause.stderr, /need a bearer token/);
    const password = join(dir.path, 'wrong-password');
    writeFileSync(password, 'guess\n');
    const set = await cli(['bmc', 'credentials', 'set', '--user', 'x', '--password-file', password], false);
    assert.equal(set.code, 1);
    assert.equal((await view()).paused, false);
  });

  it('repairs nothing while no BMC credentials are set, and says how to set them', async () => {
    await setState('I1', 'unreachable');
    await sleep(4000); // past --repair-after, several rounds
    assert.deepEqual(actionsOf('I1'), []);
    const list = await cli(['repairs', 'list']);
    assertOk(list);
    assert.match(list.stdout, /^I1\s+0\s+unreachable\s+waiting\s+0\s+\S+\s+on hold: no BMC credentials are set/m);
    assert.match(list.stderr, /no BMC credentials are set, so nothing is repaired: yagura bmc credentials set/);
  });

  it('keeps the BMC credentials in the store and never answers the password back', async () => {
    const password = join(dir.path, 'bmc-password');
    writeFileSync(password, `${BMC_PASSWORD}\n`);
    assert.equal(
      await ok(['bmc', 'credentials', 'set', '--user', BMC_USER, '--password-file', password]),
      `BMC credentials set: user ${BMC_USER}\n`,
    );
    assert.deepEqual(JSON.parse(await ok(['bmc', 'credentials', 'get', '-o', 'json'])), { user: BMC_USER, passwordSet: true });
    const answer = await fetch(`${url}/api/v1/bmc/credentials`).then((response) => response.text());
    assert.ok(!answer.includes(BMC_PASSWORD), answer);
    const bad = await fetch(`${url}/api/v1/bmc/credentials`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'two words', password: 'x' }),
    });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /printable ASCII without spaces/);
    const empty = join(dir.path, 'empty-password');
    writeFileSync(empty, '\n');
    const refused = await cli(['bmc', 'credentials', 'set', '--user', BMC_USER, '--password-file', empty]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /the password is empty/);
    assert.deepEqual(JSON.parse(await ok(['bmc', 'credentials', 'get', '-o', 'json'])), { user: BMC_USER, passwordSet: true });
  });

  it('power-cycles a machine unreachable for longer than --repair-after through IPMI, and closes the repair once it is healthy', async () => {
    await until('I1 power-cycled through its IPMI BMC', async () => actionsOf('I1').includes('cycle'));
    const repairing = await entry('I1');
    assert.equal(repairing?.status, 'repairing');
    assert.ok(repairing.attempts >= 1);
    await setState('I1', 'healthy');
    const closed = await until('I1’s repair closed', async () => {
      const found = await entry('I1');
      return found?.status === 'succeeded' && found;
    });
    assert.match(closed.note, /^healthy again after \d power cycles?, \S+ after the fault$/);
  });

  it('power-cycles an unhealthy machine whose BMC speaks Redfish (iDRAC) the same way', async () => {
    await setState('R1', 'unhealthy');
    await until('R1 power-cycled through Redfish', async () => actionsOf('R1').includes('cycle'));
    await setState('R1', 'healthy');
    await until('R1’s repair closed', async () => (await entry('R1'))?.status === 'succeeded');
  });

  it('escalates a machine whose BMC does not answer to retiring after --repair-attempts, saying why in the audit log', async () => {
    await setState('D1', 'unreachable');
    await until(
      'D1 escalated to retiring',
      async () => (await ok(['machines', 'get-state', 'D1'])).trim() === 'retiring',
      120_000,
    );
    const shown = await entry('D1');
    assert.equal(shown?.status, 'escalated');
    assert.equal(shown.attempts, 2);
    const records = (await audit()).filter((record) => record.instance === 'D1' && record.user === 'repair-queue');
    const steps = records.map((record) => `${record.category} ${record.action}`);
    assert.deepEqual(steps.slice(0, 4), [
      'repairs start',
      'repairs power-cycle-failed',
      'repairs attempt',
      'repairs power-cycle-failed',
    ]);
    // The escalation and the machine's change are one transaction: one revision, in no particular order.
    assert.deepEqual(steps.slice(4).sort(), ['machines state', 'repairs escalate']);
    assert.match(
      records[1]!.detail,
      /^power cycle 1: Redfish: the BMC at 127\.\d+\.1\.\d+:\d+ refused the connection \(is its Redfish service up\?\)$/,
    );
    assert.match(
      records.find((record) => record.action === 'state')!.detail,
      /^unreachable -> retiring: needs a person: 2 power cycles through its BMC did not make it healthy \(unreachable since \S+; the last one failed: Redfish: the BMC at \S+ refused the connection/,
    );
  });

  it('repairs three unreachable machines of one rack one at a time, oldest fault first', async () => {
    for (const serial of ['Q1', 'Q2', 'Q3']) await setState(serial, 'unreachable');
    await until('Q1 power-cycled', async () => actionsOf('Q1').includes('cycle'));
    await sleep(3000); // a few more rounds: nothing else in rack 3 may start
    assert.deepEqual([actionsOf('Q2'), actionsOf('Q3')], [[], []]);
    const queue = await view();
    const rack3 = queue.repairs.filter((e) => e.rack === 3).map((e) => `${e.serial} ${e.status}`);
    assert.deepEqual(rack3, ['Q1 repairing', 'Q2 waiting', 'Q3 waiting']);
    assert.match(queue.repairs.find((e) => e.serial === 'Q2')!.note, /^rack 3 has 1 in repair, the most a rack at once$/);

    await setState('Q1', 'healthy');
    await until('Q2 power-cycled once Q1 is healthy', async () => actionsOf('Q2').includes('cycle'));
    assert.deepEqual(actionsOf('Q3'), []);
  });

  it('pauses, cancels and resumes through the CLI, each in the audit log under the token’s name', async () => {
    assert.equal(await ok(['repairs', 'pause']), 'repair queue paused\n');
    assert.equal(await ok(['repairs', 'pause']), 'repair queue was already paused\n');
    const paused = await cli(['repairs', 'list']);
    assert.match(paused.stdout, /^queue: {2}paused by ops at \S+$/m);
    // A repair whose machine turns healthy still closes while paused; nothing new starts.
    await setState('Q2', 'healthy');
    await until('Q2’s repair closed while paused', async () => (await entry('Q2'))?.status === 'succeeded');
    await sleep(3000);
    assert.deepEqual(actionsOf('Q3'), []);
    assert.match((await entry('Q3'))!.note, /^on hold: the queue is paused$/);

    assert.equal(await ok(['repairs', 'cancel', 'Q3']), 'Q3: repair cancelled; left alone while it is unreachable\n');
    assert.equal(await ok(['repairs', 'resume']), 'repair queue resumed\n');
    await sleep(4000);
    assert.deepEqual(actionsOf('Q3'), [], 'a cancelled machine is left alone after the queue resumes');
    assert.equal((await entry('Q3'))?.status, 'cancelled');
    const cancel = await cli(['repairs', 'cancel', 'I1']);
    assert.equal(cancel.code, 1);
    assert.match(cancel.stderr, /machine I1 is healthy and not in repair: there is nothing to cancel/);

    const byOps = (await audit()).filter((record) => record.category === 'repairs' && record.user === 'ops');
    assert.deepEqual(
      byOps.map((record) => `${record.instance} ${record.action}`),
      ['queue pause', 'Q3 cancel', 'queue resume'],
    );
  });

  it('counts repairs in its metrics, and logs no password', async () => {
    const text = await metrics();
    assert.match(text, /^yagura_repair_queue_leader 1$/m);
    assert.match(text, /^yagura_repairs_started_total 5$/m); // I1, R1, D1, Q1, Q2
    assert.match(text, /^yagura_repairs_succeeded_total 4$/m);
    assert.match(text, /^yagura_repairs_escalated_total 1$/m);
    assert.match(text, /^yagura_repairs_in_progress 0$/m);
    assert.match(text, /^yagura_repair_seconds_count 4$/m);
    assert.match(text, /^yagura_repair_power_cycles_total\{protocol="redfish",result="failed"\} 2$/m);
    assert.ok(!`${server!.stdout}${server!.stderr}`.includes(BMC_PASSWORD));
    assert.ok(!JSON.stringify(await audit()).includes(BMC_PASSWORD));
  });
});
