/**
 * `yagura dc` with routers and lightweight nodes, as root, with real BIRD,
 * ping, python's http.server and curl: test/fixtures/vdc/bgp (two BIRD
 * routers peering over a /31, a netns server behind each, one link delayed by
 * 20 ms). Every DC lives in its own namespaces under a temp run root.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { YAGURA, assertOk } from '../helpers/cli.js';
import { TestDc, namespacesOf, processesOf } from '../helpers/dc.js';
import { freePort } from '../helpers/ports.js';

const TOPOLOGY = fileURLToPath(new URL('../fixtures/vdc/bgp/dc.yml', import.meta.url));

async function birdEstablished(dc: TestDc, router: string, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const result = await dc.exec(router, ['birdc', '-s', `${dc.runDir}/bird-${router}.ctl`, 'show', 'protocols']);
    last = result.stdout + result.stderr;
    if (/^peer\s+BGP\s.*\bEstablished\b/m.test(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`BGP on ${router} not established within ${timeoutMs} ms:\n${last}`);
}

/** Round-trip times (ms) of `count` pings from a member. */
async function pingTimes(dc: TestDc, member: string, address: string, count = 5): Promise<number[]> {
  const result = await dc.exec(member, ['ping', '-c', String(count), '-i', '0.2', '-W', '2', address]);
  assertOk(result);
  return [...result.stdout.matchAll(/time=([\d.]+) ms/g)].map((match) => Number(match[1]));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe('yagura dc: BIRD routers and netns nodes', () => {
  const dc = new TestDc('bgp');

  before(async () => {
    const result = await dc.up([TOPOLOGY]);
    assertOk(result);
    assert.match(result.stderr, /is up/);
  });

  after(async () => {
    await dc.down();
    dc.dispose();
  });

  it('the routers establish BGP (birdc) and the servers reach each other only through the learned routes', async () => {
    await birdEstablished(dc, 'router1');
    const routes = await dc.exec('router1', ['ip', 'route', 'show', '10.2.0.0/24']);
    assert.match(routes.stdout, /10\.2\.0\.0\/24 via 10\.0\.0\.1 dev eth0 proto bird/);
    const times = await pingTimes(dc, 'server1', '10.2.0.10');
    assert.equal(times.length, 5);
  });

  it('the 20 ms delay declared on server2 eth0 shows in ping times', async () => {
    await birdEstablished(dc, 'router2');
    const delayed = median(await pingTimes(dc, 'server1', '10.2.0.10'));
    const plain = median(await pingTimes(dc, 'server1', '10.1.0.1'));
    assert.ok(delayed >= 18, `server1 → server2 median RTT ${delayed} ms, expected ≥ 18 ms (20 ms netem)`);
    assert.ok(plain < 10, `server1 → router1 median RTT ${plain} ms, expected no delay`);
  });

  it('dc netem changes and clears an impairment at runtime', async () => {
    const set = await dc.yagura(['dc', 'netem', 'server1', 'eth0', '--delay', '40ms', '--dc', dc.name]);
    assertOk(set);
    assert.match(set.stdout, /server1 eth0: delay 40ms/);
    const slowed = median(await pingTimes(dc, 'server1', '10.1.0.1'));
    assert.ok(slowed >= 36, `median RTT ${slowed} ms with a 40 ms delay`);
    assertOk(await dc.yagura(['dc', 'netem', 'server1', 'eth0', '--clear', '--dc', dc.name]));
    const cleared = median(await pingTimes(dc, 'server1', '10.1.0.1'));
    assert.ok(cleared < 10, `median RTT ${cleared} ms after --clear`);
  });

  it('status shows every member with its addresses and running apps (table and JSON)', async () => {
    const table = await dc.yagura(['dc', 'status', dc.name]);
    assertOk(table);
    assert.match(table.stdout, /^router1\s+router\s+up\s+eth0:r1-r2=10\.0\.0\.0\/31 eth1:rack1=10\.1\.0\.1\/24\s+bird:running$/m);
    assert.match(table.stdout, /^server2\s+netns\s+up\s+eth0:rack2=10\.2\.0\.10\/24\(delay 20ms\)\s+web:running$/m);
    const json = await dc.yagura(['dc', 'status', dc.name, '-o', 'json']);
    const status = JSON.parse(json.stdout) as {
      phase: string;
      members: { name: string; apps: { name: string; state: string }[] }[];
    };
    assert.equal(status.phase, 'running');
    assert.deepEqual(status.members.map((m) => m.name).sort(), ['router1', 'router2', 'server1', 'server2']);
    const all = await dc.yagura(['dc', 'status']);
    assert.match(all.stdout, new RegExp(`^${dc.name}\\s+running\\s`, 'm'));
  });

  it('dc forward makes a node port reachable on the host loopback', async () => {
    const port = await freePort();
    const forward = spawn(process.execPath, [YAGURA, 'dc', 'forward', String(port), 'server2:8080', '--dc', dc.name], {
      env: { ...process.env, ...dc.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      let stderr = '';
      forward.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const deadline = Date.now() + 15_000;
      while (!stderr.includes('forwarding')) {
        assert.ok(Date.now() < deadline && forward.exitCode === null, `forward did not start: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const response = await fetch(`http://127.0.0.1:${port}/dc.yml`);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), readFileSync(TOPOLOGY, 'utf8'));
    } finally {
      forward.kill('SIGTERM');
    }
  });

  it('an app that dies is reported by status', async () => {
    const before = JSON.parse((await dc.yagura(['dc', 'status', dc.name, '-o', 'json'])).stdout) as {
      members: { name: string; apps: { name: string; pid: number }[] }[];
    };
    const web = before.members.find((m) => m.name === 'server2')!.apps.find((app) => app.name === 'web')!;
    process.kill(web.pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const table = await dc.yagura(['dc', 'status', dc.name]);
    assert.match(table.stdout, /^server2\s+netns\s+degraded\s.*web:exited\(SIGKILL\)$/m);
  });

  it('up on a running DC is refused and changes nothing', async () => {
    const again = await dc.up([TOPOLOGY]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /is already running .*dc down/);
    assert.equal(namespacesOf(dc.name).length, 5);
  });
});

describe('yagura dc: crash-safe down and DCs side by side', () => {
  it('after up and its supervisor are SIGKILLed, down leaves no namespace, process or file', async () => {
    const dc = new TestDc('crash');
    try {
      const up = spawn(process.execPath, [YAGURA, 'dc', 'up', TOPOLOGY, '--name', dc.name], {
        env: { ...process.env, ...dc.env },
        stdio: 'ignore',
      });
      // Kill `up` as soon as the build is done, i.e. while the supervisor starts the apps.
      const deadline = Date.now() + 60_000;
      let state: { supervisorPid?: number; phase?: string } = {};
      while (state.supervisorPid === undefined || state.phase === 'building') {
        assert.ok(Date.now() < deadline, `up never finished the build (${JSON.stringify(state)})`);
        try {
          state = JSON.parse(readFileSync(`${dc.runDir}/state.json`, 'utf8')) as typeof state;
        } catch {
          // not written yet
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      up.kill('SIGKILL');
      // The supervisor carries on without `up`; once it has started the apps, it dies too.
      while (state.phase !== 'running') {
        assert.ok(Date.now() < deadline, `the supervisor never started the apps (${JSON.stringify(state)})`);
        await new Promise((resolve) => setTimeout(resolve, 20));
        state = JSON.parse(readFileSync(`${dc.runDir}/state.json`, 'utf8')) as typeof state;
      }
      process.kill(state.supervisorPid!, 'SIGKILL');
      assert.ok(namespacesOf(dc.name).length > 0, 'the crash left namespaces (the test would prove nothing otherwise)');
      assert.ok(processesOf(dc.runDir).length > 0, 'the crash left processes (apps) behind');
      const down = await dc.down();
      assertOk(down);
      assert.deepEqual(namespacesOf(dc.name), []);
      assert.deepEqual(processesOf(dc.runDir), []);
      assert.throws(() => readFileSync(`${dc.runDir}/state.json`), /ENOENT/);
      const again = await dc.down();
      assertOk(again);
      assert.match(again.stderr, /not running: nothing to remove/);
    } finally {
      dc.dispose();
    }
  });

  it('up --foreground stays until SIGTERM, then removes everything', async () => {
    const dc = new TestDc('fg');
    try {
      const up = spawn(process.execPath, [YAGURA, 'dc', 'up', TOPOLOGY, '--name', dc.name, '--foreground'], {
        env: { ...process.env, ...dc.env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      up.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => up.once('exit', (code) => resolve(code)));
      const deadline = Date.now() + 60_000;
      while (!stderr.includes('staying in the foreground')) {
        assert.ok(Date.now() < deadline && up.exitCode === null, `up --foreground did not come up: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await new Promise((resolve) => setTimeout(resolve, 1500)); // still there a while later
      assert.equal(up.exitCode, null, stderr);
      assert.equal(namespacesOf(dc.name).length, 5);
      up.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      assert.match(stderr, /removed/);
      assert.deepEqual(namespacesOf(dc.name), []);
      assert.deepEqual(processesOf(dc.runDir), []);
    } finally {
      dc.dispose();
    }
  });

  it('two DCs from the same topology run at once, each isolated in its own namespaces', async () => {
    const first = new TestDc('one');
    const second = new TestDc('two');
    try {
      const [a, b] = await Promise.all([first.up([TOPOLOGY]), second.up([TOPOLOGY])]);
      assertOk(a);
      assertOk(b);
      for (const dc of [first, second]) {
        await birdEstablished(dc, 'router1');
        assert.equal((await pingTimes(dc, 'server1', '10.2.0.10', 2)).length, 2);
      }
      assertOk(await first.down());
      assert.deepEqual(namespacesOf(first.name), []);
      // The other DC is untouched.
      assert.equal((await pingTimes(second, 'server1', '10.2.0.10', 2)).length, 2);
      assertOk(await second.down());
      assert.deepEqual(namespacesOf(second.name), []);
    } finally {
      first.dispose();
      second.dispose();
    }
  });
});
