/**
 * `yagura dc apply`, as root: a running DC (test/fixtures/vdc/grow/base.yml,
 * two routers on one network) gains a network, an interface on router r1 and
 * a netns node behind it (grown.yml) while r1 pings r2 continuously. Nothing
 * that ran may notice: the ping loses nothing, the apps keep their PIDs.
 * Everything lives in namespaces under the test's own run root.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assertOk } from '../helpers/cli.js';
import { TestDc, namespacesOf } from '../helpers/dc.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/vdc/grow/${name}`, import.meta.url));

interface Status {
  phase: string;
  members: { name: string; interfaces?: unknown; apps: { name: string; state: string; pid?: number }[] }[];
}

async function status(dc: TestDc): Promise<Status> {
  const result = await dc.yagura(['dc', 'status', dc.name, '-o', 'json']);
  assertOk(result);
  return JSON.parse(result.stdout) as Status;
}

function appPids(status: Status): Record<string, number | undefined> {
  return Object.fromEntries(status.members.flatMap((m) => m.apps.map((app) => [`${m.name}/${app.name}`, app.pid])));
}

describe('yagura dc apply: a running data center grows without a blip', () => {
  const dc = new TestDc('apply');
  let ping: ChildProcess | undefined;

  before(async () => {
    assertOk(await dc.up([fixture('base.yml')]));
  });

  after(async () => {
    // The ping was started by this test (by PID); `ip netns exec` execs ping in place.
    if (ping?.pid && ping.exitCode === null) ping.kill('SIGKILL');
    await dc.down();
    dc.dispose();
    assert.deepEqual(namespacesOf(dc.name), []);
  });

  it('adds the network, r1’s interface and node n3 with its app; the ping r1 → r2 loses nothing; PIDs stay', async () => {
    const before = await status(dc);
    const pidsBefore = appPids(before);
    assert.equal(Object.keys(pidsBefore).length, 2);
    assert.ok(Object.values(pidsBefore).every((pid) => typeof pid === 'number'));

    // 10 pings a second from r1 to r2 for the whole apply.
    ping = spawn('ip', ['netns', 'exec', `yg-${dc.name}.r1`, 'ping', '-n', '-i', '0.1', '-W', '1', '10.0.0.2'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    ping.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const pingExited = new Promise<void>((resolve) => ping!.once('exit', () => resolve()));
    while (!output.includes('icmp_seq=3')) {
      assert.equal(ping.exitCode, null, `ping ended: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const applied = await dc.yagura(['dc', 'apply', fixture('grown.yml'), '--name', dc.name], 120_000);
    assertOk(applied);
    assert.match(
      applied.stderr,
      /grew: 1 network \(lan2\); 1 namespace \(n3\); 2 interfaces \(r1\/eth1, n3\/eth0\); 1 app \(n3\/idle\)/,
    );

    await new Promise((resolve) => setTimeout(resolve, 1000));
    ping.kill('SIGINT'); // ping prints its statistics and exits
    await pingExited;
    const stats = /(\d+) packets transmitted, (\d+) received/.exec(output);
    assert.ok(stats, `no ping statistics:\n${output}`);
    assert.ok(Number(stats[1]) >= 20, `only ${stats[1]} pings were sent during the apply`);
    assert.equal(stats[2], stats[1], `ping lost packets during the apply:\n${output.split('\n').slice(-4).join('\n')}`);

    const after = await status(dc);
    assert.equal(after.phase, 'running');
    assert.deepEqual(after.members.map((m) => m.name).sort(), ['n3', 'r1', 'r2']);
    const n3 = after.members.find((m) => m.name === 'n3')!;
    assert.deepEqual(
      n3.apps.map((app) => [app.name, app.state]),
      [['idle', 'running']],
    );
    const pidsAfter = appPids(after);
    for (const [app, pid] of Object.entries(pidsBefore)) assert.equal(pidsAfter[app], pid, `${app} was restarted`);

    // The new link works: n3 reaches r1 on lan2.
    assertOk(await dc.exec('n3', ['ping', '-c', '2', '-i', '0.2', '-W', '2', '10.0.1.1']));
    const table = await dc.yagura(['dc', 'status', dc.name]);
    assert.match(table.stdout, /^r1\s+router\s+up\s+eth0:lan=10\.0\.0\.1\/24 eth1:lan2=10\.0\.1\.1\/24\s+idle:running$/m);
  });

  it('applying the same files again has nothing to do', async () => {
    const pids = appPids(await status(dc));
    const again = await dc.yagura(['dc', 'apply', fixture('grown.yml'), '--name', dc.name]);
    assertOk(again);
    assert.match(again.stderr, /nothing to do/);
    assert.deepEqual(appPids(await status(dc)), pids);
  });

  it('refuses a file that changes an existing node, with exit 1 and one line naming it, and changes nothing', async () => {
    const refused = await dc.yagura(['dc', 'apply', fixture('changed.yml'), '--name', dc.name]);
    assert.equal(refused.code, 1, refused.stderr);
    const errors = refused.stderr.split('\n').filter((line) => line.startsWith('yagura: '));
    assert.equal(errors.length, 1, refused.stderr);
    assert.match(errors[0]!, /was not changed: only additions .*router r2 changed eth0/);
    const addresses = await dc.exec('r2', ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
    assert.match(addresses.stdout, /10\.0\.0\.2\/24/);
    const missing = await dc.yagura(['dc', 'apply', fixture('base.yml'), '--name', dc.name]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /network lan2 removed; router r1 lost interfaces \(2 → 1\); node n3 removed/);
  });
});
