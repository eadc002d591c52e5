/**
 * The state setter in `yagura serve`, for real: a serve on its embedded store
 * runs the state setter against a real serf agent (the boot server's, on
 * 127.0.0.1); two more agents stand for two servers, tagged with their serial
 * and their failed node checks, joined to it. Machines are registered with the
 * CLI. Then, with no command typed: a server that reports in with every check
 * passing turns healthy at once; one whose check fails turns unhealthy after
 * its type's grace period; one whose agent dies turns unreachable; a machine
 * a person set to retiring is left alone; a machine with no member never
 * leaves uninitialized (not a valid transition). Every change is in the audit
 * log as the state setter's, with its reason.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SerfClient } from '../../src/lib/serf-rpc.js';
import { assertOk, RunningYagura, runYagura } from '../helpers/cli.js';
import { EtcdCluster } from '../helpers/etcd-cluster.js';
import { freePort } from '../helpers/ports.js';
import { SerfAgent } from '../helpers/serf-agent.js';
import { tempDir } from '../helpers/temp.js';
import { EXAMPLE_IPAM } from '../fixtures/ipam.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The state changes the state setter wrote, oldest first, as `yagura logs -o json` prints them (a JSON object a line). */
async function stateSetterRecords(url: string): Promise<{ instance: string; detail: string }[]> {
  const logs = await runYagura(['logs', '-o', 'json', '--server', url]);
  assertOk(logs);
  return logs.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { user: string; instance: string; action: string; detail: string })
    .filter((record) => record.action === 'state' && record.user === 'state-setter');
}

describe('the state setter in yagura serve, with real serf agents', () => {
  const dir = tempDir('state-setter');
  let boot: SerfAgent | undefined;
  let n1: SerfAgent | undefined;
  let n2: SerfAgent | undefined;
  let server: RunningYagura | undefined;
  let url = '';

  const cli = (args: string[]) => runYagura([...args, '--server', url]);
  const stateOf = async (serial: string): Promise<string> => {
    const result = await cli(['machines', 'get-state', serial]);
    assertOk(result);
    return result.stdout.trim();
  };
  async function waitForState(serial: string, state: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      last = await stateOf(serial);
      if (last === state) return;
      await sleep(500);
    }
    assert.fail(`${serial} did not become ${state} within ${timeoutMs / 1000} s (it is ${last})\n${server?.stdout.slice(-3000)}`);
  }

  before(async () => {
    boot = await SerfAgent.start({ name: 'boot-0', tags: { role: 'boot' } });
    n1 = await SerfAgent.start({ name: 'rack0-cs1', tags: { serial: 'S1', 'failed-checks': '' } });
    n2 = await SerfAgent.start({ name: 'rack0-cs2', tags: { serial: 'S2', 'failed-checks': '' } });
    const client = await SerfClient.connect({ host: '127.0.0.1', port: boot.rpcPort });
    assert.equal(await client.join([n1.bindAddr, n2.bindAddr], false), 2);
    await client.close();

    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = new RunningYagura([
      'serve',
      '--listen',
      `127.0.0.1:${port}`,
      '--data-dir',
      join(dir.path, 'data'),
      '--state-setter-serf',
      `127.0.0.1:${boot.rpcPort}`,
      '--state-setter-interval',
      '1s',
      '--state-setter-grace',
      '10m,qemu=3s',
    ]);
    await server.waitFor('"serving"');
    const machines = join(dir.path, 'machines.json');
    writeFileSync(
      machines,
      JSON.stringify(
        ['S1', 'S2', 'S3', 'S4'].map((serial) => ({
          serial,
          rack: 0,
          role: 'cs',
          bmc: { type: 'IPMI-2.0' },
          labels: { 'machine-type': 'qemu' },
        })),
      ),
    );
  });

  after(async () => {
    await server?.stop();
    await Promise.all([boot?.stop(), n1?.stop(), n2?.stop()]);
    dir.remove();
  });

  it('turns a server that reports in healthy at once, and leaves uninitialized one with no member', async () => {
    const ipam = join(dir.path, 'ipam.json');
    writeFileSync(ipam, JSON.stringify(EXAMPLE_IPAM));
    assertOk(await cli(['ipam', 'set', '-f', ipam]));
    assertOk(await cli(['machines', 'create', '-f', join(dir.path, 'machines.json')]));
    await waitForState('S1', 'healthy', 30_000);
    await waitForState('S2', 'healthy', 30_000);
    // S3 has no member: unreachable is not a valid transition from uninitialized.
    await sleep(3000);
    assert.equal(await stateOf('S3'), 'uninitialized');
  });

  it('turns a server whose node check fails unhealthy after its type’s grace period, naming the check', async () => {
    const agent = await SerfClient.connect({ host: '127.0.0.1', port: n2!.rpcPort });
    await agent.setTags({ 'failed-checks': 'bgp' });
    await agent.close();
    const judged = Date.now();
    await waitForState('S2', 'unhealthy');
    assert.ok(Date.now() - judged >= 3000, 'not before the 3 s grace of machine type qemu');
  });

  it('turns a server whose serf agent died unreachable', async () => {
    await n1!.kill();
    await waitForState('S1', 'unreachable', 90_000);
  });

  it('leaves a machine a person set to retiring alone', async () => {
    assertOk(await cli(['machines', 'set-state', 'S4', 'retiring']));
    await sleep(3000);
    assert.equal(await stateOf('S4'), 'retiring');
  });

  it('records every change as the state setter’s, with its reason, and leads (metrics)', async () => {
    const bySetter = await stateSetterRecords(url);
    const detail = (serial: string) => bySetter.filter((record) => record.instance === serial).map((record) => record.detail);
    assert.deepEqual(detail('S1'), ['uninitialized -> healthy: serf member alive, every check passes', detail('S1')[1]!]);
    assert.match(detail('S1')[1]!, /^healthy -> unreachable: serf member rack0-cs1 is failed \(for \d+(\.\d)? s, grace 3 s\)$/);
    assert.match(detail('S2')[1]!, /^healthy -> unhealthy: check bgp failed \(for \d+(\.\d)? s, grace 3 s\)$/);
    assert.deepEqual(detail('S3'), []);
    assert.ok(!bySetter.some((record) => record.instance === 'S4'));
    const metrics = await fetch(`${url}/metrics`).then((response) => response.text());
    assert.match(metrics, /^yagura_state_setter_leader 1$/m);
    assert.match(metrics, /^yagura_state_setter_changes_total\{to="healthy"\} 2$/m);
    assert.match(metrics, /^yagura_state_setter_changes_total\{to="unhealthy"\} 1$/m);
    assert.match(metrics, /^yagura_state_setter_changes_total\{to="unreachable"\} 1$/m);
  });
});

describe('the state setter on two boot servers sharing etcd', () => {
  const dir = tempDir('state-setter-ha');
  let cluster: EtcdCluster | undefined;
  let boot: SerfAgent | undefined;
  let node: SerfAgent | undefined;
  const servers: { server: RunningYagura; url: string }[] = [];

  const leaders = async (): Promise<number[]> =>
    Promise.all(
      servers.map(async ({ server, url }) => {
        if (server.child.exitCode !== null || server.child.signalCode !== null) return 0;
        const text = await fetch(`${url}/metrics`)
          .then((response) => response.text())
          .catch(() => '');
        return Number(/^yagura_state_setter_leader (\d)$/m.exec(text)?.[1] ?? 0);
      }),
    );
  async function waitForLeader(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = await leaders();
      if (now.filter((value) => value === 1).length === 1) return now.indexOf(1);
      if (Date.now() > deadline) assert.fail(`no single leader within ${timeoutMs / 1000} s: ${now.join(', ')}`);
      await sleep(250);
    }
  }
  before(async () => {
    cluster = await EtcdCluster.start(1);
    boot = await SerfAgent.start({ name: 'boot', tags: { role: 'boot' } });
    node = await SerfAgent.start({ name: 'rack0-cs1', tags: { serial: 'H1', 'failed-checks': '' } });
    const client = await SerfClient.connect({ host: '127.0.0.1', port: boot.rpcPort });
    assert.equal(await client.join([node.bindAddr], false), 1);
    await client.close();
    for (const name of ['boot-a', 'boot-b']) {
      const port = await freePort();
      const server = new RunningYagura([
        'serve',
        '--listen',
        `127.0.0.1:${port}`,
        '--store',
        'etcd',
        '--etcd-endpoints',
        cluster.endpoints.join(','),
        '--etcd-prefix',
        '/ha-state-setter/',
        '--data-dir',
        join(dir.path, name),
        '--state-setter-serf',
        `127.0.0.1:${boot.rpcPort}`,
        '--state-setter-interval',
        '1s',
        '--state-setter-grace',
        '10m,qemu=2s',
      ]);
      await server.waitFor('"serving"');
      servers.push({ server, url: `http://127.0.0.1:${port}` });
    }
  });

  after(async () => {
    await Promise.all(servers.map(({ server }) => server.stop()));
    await Promise.all([boot?.stop(), node?.stop()]);
    await cluster?.stop();
    dir.remove();
  });

  it('decides on one server only, moves to the other within seconds when the leader is killed, and writes nothing twice', async (t) => {
    const first = await waitForLeader(30_000);
    const url = servers[0]!.url;
    const ipam = join(dir.path, 'ipam.json');
    writeFileSync(ipam, JSON.stringify(EXAMPLE_IPAM));
    const machines = join(dir.path, 'machines.json');
    writeFileSync(
      machines,
      JSON.stringify([{ serial: 'H1', rack: 0, role: 'cs', bmc: { type: 'IPMI-2.0' }, labels: { 'machine-type': 'qemu' } }]),
    );
    assertOk(await runYagura(['ipam', 'set', '-f', ipam, '--server', url]));
    assertOk(await runYagura(['machines', 'create', '-f', machines, '--server', url]));
    const deadline = Date.now() + 30_000;
    while ((await stateSetterRecords(url)).length === 0 && Date.now() < deadline) await sleep(500);
    await sleep(3000); // a few more rounds on both servers: nothing more may be written
    assert.deepEqual(
      (await stateSetterRecords(url)).map((record) => `${record.instance} ${record.detail}`),
      ['H1 uninitialized -> healthy: serf member alive, every check passes'],
    );

    await servers[first]!.server.stop('SIGKILL');
    const killedAt = Date.now();
    const second = await waitForLeader(60_000);
    assert.notEqual(second, first);
    t.diagnostic(`the other server leads ${Date.now() - killedAt} ms after the leader was killed (its lease: 10 s)`);
    const survivor = servers[second]!.url;
    // The new leader judges afresh: a failed check is written once its grace has passed, and once only.
    const agent = await SerfClient.connect({ host: '127.0.0.1', port: node!.rpcPort });
    await agent.setTags({ 'failed-checks': 'disk' });
    await agent.close();
    const until = Date.now() + 60_000;
    while ((await stateSetterRecords(survivor)).length < 2 && Date.now() < until) await sleep(500);
    await sleep(3000);
    const details = (await stateSetterRecords(survivor)).map((record) => record.detail);
    assert.equal(details.length, 2, details.join('\n'));
    assert.match(details[1]!, /^healthy -> unhealthy: check disk failed \(for \d+(\.\d)? s, grace 2 s\)$/);
  });
});
