/**
 * The boot servers of a generated site, run: `yagura dc generate` gives every
 * netns boot server an etcd member (one cluster of all boot servers) and
 * `yagura serve` on it (src/fabric/boot-server.ts); `dc up` starts the 2-rack
 * netns site (test/fixtures/fabric/2racks-netns.yml) with real BIRD, etcd,
 * dnsmasq relays and Yagura. Checked: the etcd cluster has both members
 * healthy; each boot server's API answers at its node0 from the other rack
 * (BGP); what one boot server stores the other reads (IPAM) or replicates (an
 * asset, fetched from the peer); and once the site is loaded through boot-0
 * (IPAM, machines, the cs template), a rack-1 server that joined (`yagura
 * node join`, busybox udhcpc) holds a lease relayed by its ToR, offered by
 * both boot servers, from the rack segment's lease range and recorded in the
 * shared etcd. Every machine, boot servers too, is a serf member with its
 * node checks in its tags (`yagura node agent`, in node join and on the boot
 * servers); the state setter turns each one healthy, a server whose BGP
 * session goes down unhealthy after the grace, and healthy again when it is
 * back — each change in the audit log as the state setter's. As root; everything lives in the DC's namespaces and temp dirs and is
 * removed afterwards, also when a test fails.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { leaseKey } from '../../src/boot/dhcp/leases.js';
import { generateSite, parseSiteSpec, type MachinePlan, type SitePlan } from '../../src/fabric/index.js';
import { leaseRange } from '../../src/inventory/ipam.js';
import { formatIPv4, parseIPv4 } from '../../src/lib/ipv4.js';
import { assertOk, YAGURA, type Finished } from '../helpers/cli.js';
import { TestDc } from '../helpers/dc.js';
import { tempDir } from '../helpers/temp.js';

const SPEC = fileURLToPath(new URL('../fixtures/fabric/2racks-netns.yml', import.meta.url));
/** The etcd prefix `yagura serve` uses by default. */
const PREFIX = '/yagura/';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `attempt` until it returns a value, or fails with the last thing it saw. */
async function eventually<T>(
  what: string,
  timeoutMs: number,
  attempt: () => Promise<T | undefined>,
  seen: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`${what} within ${timeoutMs / 1000} s; last seen:\n${seen()}`);
    await sleep(1000);
  }
}

const show = (result: Finished) => `exit ${result.code}\n${result.stdout}${result.stderr}`;

describe('yagura dc generate: the boot servers of a 2-rack netns site, run', () => {
  const out = tempDir('fabric-boot');
  const site = join(out.path, 'site');
  const dc = new TestDc('fboot');
  let plan: SitePlan;
  let boot0: MachinePlan;
  let boot1: MachinePlan;

  /** The yagura CLI inside a member's namespace, talking to the boot server there on 127.0.0.1:10080. */
  const yaguraIn = (member: string, args: string[]) => dc.exec(member, [process.execPath, YAGURA, ...args]);

  before(async () => {
    plan = generateSite(parseSiteSpec({ path: SPEC, text: readFileSync(SPEC, 'utf8') })).plan;
    [boot0, boot1] = plan.machines.filter((machine) => machine.boot) as [MachinePlan, MachinePlan];
    assertOk(await dc.yagura(['dc', 'generate', SPEC, '-o', site]));
    assertOk(await dc.up([join(site, 'dc.yml')]));
    // Both boot servers serve before the IPAM config lets DHCP answer: the first answer wins, and each must have its chance.
    for (const boot of [boot0, boot1])
      await eventually(
        `${boot.name}'s API`,
        120_000,
        async () =>
          (await dc.exec(boot.name, ['curl', '-s', '-f', 'http://127.0.0.1:10080/health'])).code === 0 ? true : undefined,
        () => readFileSync(join(dc.runDir, 'logs', `${boot.name}.yagura.log`), 'utf8').slice(-2000),
      );
    // Loaded as docs/site-spec.md says, through boot-0: then the netns servers join (yagura node join).
    assertOk(await yaguraIn(boot0.name, ['ipam', 'set', '-f', join(site, 'ipam.json')]));
    assertOk(await yaguraIn(boot0.name, ['machines', 'create', '-f', join(site, 'machines.json')]));
    assertOk(await yaguraIn(boot0.name, ['ignitions', 'set', 'cs', '1.0.0', '-f', join(site, 'ignitions', 'cs.json')]));
  });

  after(async () => {
    try {
      await dc.down();
    } finally {
      dc.dispose();
      out.remove();
    }
  });

  it('forms one etcd cluster of both boot servers, both members healthy', async () => {
    let last = '';
    await eventually(
      'both etcd members healthy',
      90_000,
      async () => {
        const health = await dc.exec(boot0.name, ['etcdctl', 'endpoint', 'health', '--cluster']);
        last = show(health);
        // etcdctl reports endpoint health on stderr.
        const healthy = `${health.stdout}${health.stderr}`.match(/ is healthy/g) ?? [];
        return health.code === 0 && healthy.length === 2 ? true : undefined;
      },
      () => last,
    );
    for (const boot of [boot0, boot1]) {
      const list = await dc.exec(boot.name, ['etcdctl', 'member', 'list', '-w', 'json']);
      assertOk(list);
      const members = (JSON.parse(list.stdout) as { members: { name: string; clientURLs: string[] }[] }).members;
      assert.deepEqual(members.map((member) => [member.name, member.clientURLs]).sort(), [
        [boot0.name, [`http://${boot0.node0}:2379`]],
        [boot1.name, [`http://${boot1.node0}:2379`]],
      ]);
    }
  });

  it("answers /health on each boot server's node0 from a server in the other rack", async () => {
    const pairs = [
      { from: 'rack1-cs1', boot: boot0 },
      { from: 'rack0-cs1', boot: boot1 },
    ];
    for (const { from, boot } of pairs) {
      let last = '';
      await eventually(
        `${boot.name}'s API answering ${from}`,
        90_000,
        async () => {
          const url = `http://${boot.node0}:10080/health`;
          const result = await dc.exec(from, ['curl', '-s', '-m', '3', '-w', '\n%{http_code}', url]);
          last = show(result);
          return result.stdout.endsWith('\n200') ? true : undefined;
        },
        () => last,
      );
      assert.match(last, /"backend":"etcd"/);
    }
  });

  it('shares the store: the IPAM config set on boot-0 is read back on boot-1', async () => {
    const read = await yaguraIn(boot1.name, ['ipam', 'get', '-o', 'json']);
    assertOk(read);
    assert.deepEqual(JSON.parse(read.stdout), JSON.parse(readFileSync(join(site, 'ipam.json'), 'utf8')));
  });

  it('replicates an asset uploaded to boot-0 to boot-1 (fetched from its peer on port 10080)', async () => {
    const file = join(out.path, 'greeting.txt');
    writeFileSync(file, `hello from ${boot0.name}\n`);
    assertOk(await yaguraIn(boot0.name, ['assets', 'upload', 'greeting', file]));
    let last = '';
    const urls = await eventually(
      'boot-1 holding the asset',
      30_000,
      async () => {
        const info = await yaguraIn(boot1.name, ['assets', 'info', 'greeting', '-o', 'json']);
        last = show(info);
        if (info.code !== 0) return undefined;
        const meta = JSON.parse(info.stdout) as { urls: string[] };
        return meta.urls.length === 2 ? meta.urls : undefined;
      },
      () => `${last}\n${readFileSync(join(dc.runDir, 'logs', `${boot1.name}.yagura.log`), 'utf8').slice(-2000)}`,
    );
    assert.deepEqual(urls.sort(), [`http://${boot0.node0}:10080`, `http://${boot1.node0}:10080`].sort());
    const body = await dc.exec(boot1.name, ['curl', '-s', '-f', 'http://127.0.0.1:10080/api/v1/assets/greeting']);
    assertOk(body);
    assert.equal(body.stdout, `hello from ${boot0.name}\n`);
  });

  it('leases a rack-1 address by relayed DHCP to the server that joined, offered by both boot servers, recorded in the shared etcd', async () => {
    const mac = (await dc.exec('rack1-cs1', ['cat', '/sys/class/net/eth0/address'])).stdout.trim();
    let last = '';
    // The lease node join took, as boot-1 lists it from etcd.
    const lease = await eventually(
      `a bound lease for rack1-cs1 (${mac})`,
      90_000,
      async () => {
        const listed = await yaguraIn(boot1.name, ['dhcp', 'leases', '--all', '-o', 'json']);
        last = show(listed);
        if (listed.code !== 0) return undefined;
        const leases = JSON.parse(listed.stdout) as { address: string; mac: string; state: string }[];
        return leases.find((entry) => entry.mac === mac && entry.state === 'bound');
      },
      () => last,
    );
    const tor1 = plan.racks[1]!.tors[0];
    const range = leaseRange(plan.ipam, parseIPv4(tor1.address)!);
    const address = parseIPv4(lease.address)!;
    assert.ok(
      address >= range.first && address <= range.last,
      `${lease.address} is outside rack 1's node1 lease range ${formatIPv4(range.first)}–${formatIPv4(range.last)}`,
    );

    // Every ToR relays to both boot servers: both offered; between them they acknowledged every server's request.
    let acks = 0;
    for (const boot of [boot0, boot1]) {
      const metrics = await dc.exec('rack1-cs1', ['curl', '-s', '-f', `http://${boot.node0}:10080/metrics`]);
      assertOk(metrics);
      assert.match(metrics.stdout, /^yagura_dhcp_replies_total\{type="offer"\} [1-9]/m, `${boot.name} offered`);
      acks += Number(/^yagura_dhcp_replies_total\{type="ack"\} (\d+)/m.exec(metrics.stdout)?.[1] ?? 0);
    }
    assert.ok(acks >= 4, `the 4 netns servers were acknowledged (${acks} ACKs)`);

    // The lease is in the one etcd, under its key: read it through boot-0's member.
    const stored = await dc.exec(boot0.name, ['etcdctl', 'get', '--print-value-only', `${PREFIX}${leaseKey(address)}`]);
    assertOk(stored);
    const record = JSON.parse(stored.stdout) as { mac: string; state: string };
    assert.equal(record.mac, mac);
    assert.equal(record.state, 'bound');
  });

  /** serf's members as boot-0's agent sees them, through its RPC port. */
  const serfMembers = async () => {
    const listed = await dc.exec(boot0.name, ['serf', 'members', '-rpc-addr=127.0.0.1:7373', '-format=json']);
    return {
      shown: show(listed),
      members:
        listed.code === 0
          ? (JSON.parse(listed.stdout) as { members: { name: string; status: string; tags: Record<string, string> }[] }).members
          : [],
    };
  };
  /** Waits until every machine of `serials` is in `state`, as boot-0 lists them. */
  const untilState = async (what: string, serials: readonly string[], state: string) => {
    let last = '';
    await eventually(
      what,
      60_000,
      async () => {
        const listed = await yaguraIn(boot0.name, ['machines', 'get', '-o', 'json']);
        last = show(listed);
        if (listed.code !== 0) return undefined;
        const machines = JSON.parse(listed.stdout) as { spec: { serial: string }; status: { state: string } }[];
        const states = new Map(machines.map((m) => [m.spec.serial, m.status.state]));
        return serials.every((serial) => states.get(serial) === state) ? true : undefined;
      },
      () => last,
    );
  };
  /** The state changes of a machine in the audit log, oldest first, as "user: detail", read through `member`. */
  const stateChanges = async (member: string, serial: string) => {
    const logs = await yaguraIn(member, ['logs', '-o', 'json']);
    assertOk(logs);
    return logs.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { user: string; instance: string; action: string; detail: string })
      .filter((r) => r.instance === serial && r.action === 'state')
      .map((r) => `${r.user}: ${r.detail}`);
  };

  it('makes every server and boot server an alive serf member, tagged with its serial, role, rack, OS, uptime and node checks', async () => {
    let last = '';
    const members = await eventually(
      `all ${plan.machines.length} machines alive in serf with their checks passing`,
      120_000,
      async () => {
        const { shown, members } = await serfMembers();
        last = shown;
        const ready = plan.machines.every((machine) =>
          members.some((m) => m.name === machine.name && m.status === 'alive' && m.tags['failed-checks'] === ''),
        );
        return ready ? members : undefined;
      },
      () => last,
    );
    for (const machine of plan.machines) {
      const member = members.find((m) => m.name === machine.name)!;
      assert.equal(member.tags.serial, machine.serial, `${machine.name}'s serial tag`);
      assert.equal(member.tags.role, machine.role);
      assert.equal(member.tags.rack, String(machine.rack));
      assert.match(member.tags['os-version'] ?? '', /^yagura-\d+\.\d+\.\d+/);
      assert.match(member.tags.uptime ?? '', /^\d+$/);
    }
  });

  it('the state setter turns every machine healthy once it reports in, as the audit log says', async () => {
    await untilState(
      'every machine healthy',
      plan.machines.map((machine) => machine.serial),
      'healthy',
    );
    for (const machine of plan.machines)
      assert.deepEqual(
        await stateChanges(boot1.name, machine.serial),
        ['state-setter: uninitialized -> healthy: serf member alive, every check passes'],
        `${machine.name} was judged once, by the state setter`,
      );
  });

  it('turns a server whose BGP session goes down unhealthy after the grace, and healthy again once it is back', async () => {
    const server = plan.machines.find((machine) => machine.name === 'rack0-cs1')!;
    const birdc = (...args: string[]) =>
      dc.exec(server.name, ['birdc', '-s', join(dc.runDir, `bird-${server.name}.ctl`), ...args]);
    assertOk(await birdc('disable', 'rack0_tor1'));
    try {
      await untilState(`${server.name} unhealthy`, [server.serial], 'unhealthy');
    } finally {
      assertOk(await birdc('enable', 'rack0_tor1'));
    }
    await untilState(`${server.name} healthy again`, [server.serial], 'healthy');
    const details = await stateChanges(boot0.name, server.serial);
    assert.match(
      details.at(-2) ?? '',
      /^state-setter: healthy -> unhealthy: check bgp:rack0_tor1 failed \(for \d+(\.\d)? s, grace 8 s\)$/,
    );
    assert.equal(details.at(-1), 'state-setter: unhealthy -> healthy: serf member alive, every check passes');
  });
});
