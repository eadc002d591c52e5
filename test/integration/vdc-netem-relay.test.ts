/**
 * The userspace impairment relay (libexec/yagura-netem-relay.py) on real
 * links: a "DC" namespace with a bridge and two members, each attached by a
 * veth whose DC-side end (yg-v0, yg-v1) is a bridge port, as `yagura dc` builds
 * them. Pings and HTTP transfers between the members show what a user would
 * notice: added delay, lost packets, a rate limit, intact TCP streams, and a
 * link that is back in its bridge once the relay lets go of it.
 *
 *   a (eth0 10.0.0.1) ── yg-v0 ─┐
 *                               br0 (10.0.0.254)   in dc
 *   b (eth0 10.0.0.2) ── yg-v1 ─┘
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { DEFAULT_IP as IP } from '../../src/vdc/host/tools.js';
import {
  kernelHasNetem,
  netemRelayClient,
  NETEM_RELAY_SCRIPT,
  probeNetemWithTc,
  startNetemRelay,
  type NetemRelay,
  type RelayLinkStatus,
} from '../../src/vdc/host/netem-relay.js';
import { NetNs, registerCleanup, type ProcessInNamespace } from '../helpers/netns.js';
import { tempDir } from '../helpers/temp.js';

const A = '10.0.0.1';
const B = '10.0.0.2';
const BRIDGE_ADDRESS = '10.0.0.254';
const BLOB_BYTES = 4 * 1024 * 1024;
const RATE_BLOB_BYTES = 3 * 1024 * 1024;
const FAST_MS = 10;

it('kernelHasNetem says what adding a netem qdisc in a namespace says', async () => {
  assert.equal(await kernelHasNetem(), await probeNetemWithTc());
});

describe('netem relay', { timeout: 120_000 }, () => {
  const dir = tempDir('netem-relay');
  const control = join(dir.path, 'relay.sock');
  const logLines: string[] = [];
  const blob = randomBytes(BLOB_BYTES);
  let dc: NetNs;
  let a: NetNs;
  let b: NetNs;
  let relay: NetemRelay;
  let unregisterRelay: () => void = () => {};
  const servers: ProcessInNamespace[] = [];

  before(async () => {
    writeFileSync(join(dir.path, 'blob'), blob);
    writeFileSync(join(dir.path, 'rate-blob'), blob.subarray(0, RATE_BLOB_BYTES));
    dc = NetNs.create();
    a = NetNs.create();
    b = NetNs.create();
    dc.addBridge('br0', `${BRIDGE_ADDRESS}/24`);
    for (const [index, member, address] of [
      [0, a, A],
      [1, b, B],
    ] as const) {
      dc.batch([`link add yg-v${index} type veth peer name eth0 netns ${member.name}`, `link set yg-v${index} master br0 up`]);
      member.batch([`addr add ${address}/24 dev eth0`, 'link set eth0 up']);
    }
    const log = (level: string) => (fields: object, message: string) =>
      logLines.push(`${level} ${message} ${JSON.stringify(fields)}`);
    relay = await startNetemRelay({
      namespace: dc.name,
      controlSocket: control,
      log: { info: log('info'), warn: log('warn'), error: log('error') },
      env: { ...process.env, YAGURA_TEST_RELAY_MARK: dir.path },
    });
    // Last resort if the test process dies: the relay runs in dc, which cannot go while it lives.
    const pid = relay.pid;
    unregisterRelay = registerCleanup(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    });
  });

  after(async () => {
    await relay?.stop();
    unregisterRelay();
    await Promise.all(servers.map((server) => server.stop()));
    await Promise.all([a, b, dc].filter(Boolean).map((ns) => ns.remove()));
    dir.remove();
  });

  it('relays a link with no impairment: pings stay fast, VLAN tags survive, the tap takes the bridge port', async () => {
    const environ = readFileSync(`/proc/${relay.pid}/environ`, 'utf8').split('\0');
    assert.ok(environ.includes(`YAGURA_TEST_RELAY_MARK=${dir.path}`), 'the relay runs with the environment it was given');

    await assert.rejects(relay.set('yg-v9', 'br0', {}), /no link yg-v9/);
    await assert.rejects(relay.set('yg-v0', 'br0', { lossPercent: 150 }), /lossPercent must be at most 100/);
    // Bad requests get an error each, and the relay goes on answering.
    const answers = await rawRequests(control, 'not json\n{"op":"reboot"}\n{"op":"list"}\n');
    assert.match(answers[0]!.error ?? '', /^not JSON/);
    assert.match(answers[1]!.error ?? '', /^unknown op "reboot"/);
    assert.deepEqual(answers[2], { ok: true, links: [] });
    const status = await relay.set('yg-v0', 'br0', {});
    assert.equal(status.tap, 'yg-r0');
    assert.equal(await masterOf(dc, 'yg-v0'), 'yg-q0', 'the link waits in a bridge of its own');
    assert.equal(await masterOf(dc, 'yg-r0'), 'br0');

    const times = await pingTimes(a, B, 10);
    assert.equal(times.length, 10, 'every ping through the relay is answered');
    assert.ok(median(times) < FAST_MS, `median RTT ${median(times)} ms through an unimpaired relay`);
    assert.equal(await vlanOfFrameSent(a, b), 100, 'a tagged frame from a reaches b with its VLAN tag');
    assert.equal(await vlanOfFrameSent(b, a), 100, 'and one from b reaches a');
    assert.equal((await pingTimes(a, BRIDGE_ADDRESS, 3)).length, 3, "the DC's own bridge address answers");

    const counters = (await linkStatus(relay, 'yg-v0')).counters;
    assert.ok(counters.relayed >= 20 && counters.toNode >= 20, JSON.stringify(counters));
    assert.ok(
      logLines.some((line) => line.startsWith('info relaying yg-v0 through yg-r0')),
      logLines.join('\n'),
    );
  });

  it('delays what the node sends: 20 ms on yg-v0 adds ~20 ms to pings in both directions', async () => {
    await relay.set('yg-v0', 'br0', { delayUs: 20_000 });
    for (const [from, to, label] of [
      [a, B, 'a → b'],
      [b, A, 'b → a (the reply is delayed)'],
      [a, BRIDGE_ADDRESS, 'a → the bridge address'],
    ] as const) {
      const times = await pingTimes(from, to, 10);
      assert.equal(times.length, 10, label);
      assert.ok(median(times) >= 18 && median(times) <= 80, `${label}: median RTT ${median(times)} ms, want about 20`);
    }
    assert.deepEqual((await linkStatus(relay, 'yg-v0')).netem, {
      delayUs: 20_000,
      jitterUs: 0,
      lossPercent: 0,
      rateBitsPerSecond: 0,
    });
  });

  it('spreads the delay with jitter: 20 ms ± 10 ms gives RTTs between about 10 and 30 ms', async () => {
    await relay.set('yg-v0', 'br0', { delayUs: 20_000, jitterUs: 10_000 });
    const times = await pingTimes(a, B, 20);
    assert.equal(times.length, 20);
    const [fastest, slowest] = [Math.min(...times), Math.max(...times)];
    assert.ok(fastest >= 9, `fastest RTT ${fastest} ms`);
    assert.ok(slowest <= 30 + 60, `slowest RTT ${slowest} ms`);
    // 20 uniform draws from a 20 ms wide range all within 5 ms of each other: about 1 in 10^11.
    assert.ok(slowest - fastest >= 5, `RTTs ${fastest}–${slowest} ms hardly vary`);
  });

  it('drops everything at 100% loss; after loss 0 and clear the link is fast and back in its bridge', async () => {
    await relay.set('yg-v0', 'br0', { lossPercent: 100 });
    assert.deepEqual(await pingTimes(a, B, 5), [], 'no ping is answered at 100% loss');
    assert.ok((await linkStatus(relay, 'yg-v0')).counters.lost >= 5);

    await relay.set('yg-v0', 'br0', { lossPercent: 0 });
    await relay.clear('yg-v0');
    assert.deepEqual(await relay.list(), []);
    assert.equal(await masterOf(dc, 'yg-v0'), 'br0');
    assert.deepEqual(await linkNames(dc, /^yg-[rq]/), [], 'the tap and the quarantine bridge are gone');
    const times = await pingTimes(a, B, 10);
    assert.equal(times.length, 10);
    assert.ok(median(times) < FAST_MS, `median RTT ${median(times)} ms after clear`);
    await relay.clear('yg-v0'); // clearing twice is fine
  });

  it('carries TCP intact both ways through two relayed, delayed links (GSO super-frames and partial checksums)', async () => {
    servers.push(await httpServer(a, A, dir.path), await httpServer(b, B, dir.path));
    await relay.set('yg-v0', 'br0', { delayUs: 20_000 });
    await relay.set('yg-v1', 'br0', { delayUs: 5_000 });

    const toA = await download(a, `http://${B}:8000/blob`, join(dir.path, 'from-b'));
    const toB = await download(b, `http://${A}:8000/blob`, join(dir.path, 'from-a'));
    assert.equal(sha256(readFileSync(join(dir.path, 'from-b'))), sha256(blob), 'b → a content');
    assert.equal(sha256(readFileSync(join(dir.path, 'from-a'))), sha256(blob), 'a → b content');
    assert.ok(toA.seconds < 30 && toB.seconds < 30);

    for (const link of ['yg-v0', 'yg-v1']) {
      const counters = (await linkStatus(relay, link)).counters;
      // The transfer must really have gone through the super-frame path this test is about.
      assert.ok(counters.superFrames > 0, `${link} relayed no GSO super-frame: ${JSON.stringify(counters)}`);
    }
  });

  it('limits the rate: a transfer through 8 Mbit/s runs at about 8 Mbit/s', async () => {
    await relay.set('yg-v0', 'br0', { delayUs: 20_000, rateBitsPerSecond: 8_000_000 });
    const { bytesPerSecond } = await download(b, `http://${A}:8000/rate-blob`, join(dir.path, 'rate-from-a'));
    const mbits = (bytesPerSecond * 8) / 1e6;
    assert.ok(mbits >= 4 && mbits <= 12, `${mbits.toFixed(2)} Mbit/s through an 8 Mbit/s link`);
    assert.equal(sha256(readFileSync(join(dir.path, 'rate-from-a'))), sha256(blob.subarray(0, RATE_BLOB_BYTES)));
  });

  it('restores every link and leaves no tap when stopped with SIGTERM', async () => {
    assert.deepEqual((await relay.list()).map((link) => link.link).sort(), ['yg-v0', 'yg-v1']);
    await relay.stop();
    assert.equal(await masterOf(dc, 'yg-v0'), 'br0');
    assert.equal(await masterOf(dc, 'yg-v1'), 'br0');
    assert.deepEqual(await linkNames(dc, /^yg-[rq]/), [], 'no tap or quarantine bridge is left');
    assert.equal(existsSync(control), false, 'the control socket is removed');
    const times = await pingTimes(a, B, 10);
    assert.equal(times.length, 10);
    assert.ok(median(times) < FAST_MS, `median RTT ${median(times)} ms after the relay stopped`);
  });

  it('gives the links back when whoever started it goes away (its stdin closes)', async () => {
    const orphanControl = join(dir.path, 'orphan.sock');
    const child = spawn(IP, ['netns', 'exec', dc.name, 'python3', NETEM_RELAY_SCRIPT, '--control', orphanControl], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const unregister = registerCleanup(() => child.kill('SIGKILL'));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => (chunk.toString().includes('"ready"') ? resolve() : undefined));
        child.once('exit', () => reject(new Error('the relay exited before it was ready')));
      });
      await netemRelayClient(orphanControl).set('yg-v1', 'br0', { delayUs: 1000 });
      assert.equal(await masterOf(dc, 'yg-r1'), 'br0');
      child.stdin.end();
      assert.equal(await exited, 0);
      assert.equal(await masterOf(dc, 'yg-v1'), 'br0');
      assert.deepEqual(await linkNames(dc, /^yg-[rq]/), []);
    } finally {
      child.kill('SIGKILL');
      unregister();
    }
  });
});

/** RTTs in ms of the answered pings (none answered: an empty list). */
async function pingTimes(from: NetNs, to: string, count: number): Promise<number[]> {
  let output: string;
  try {
    output = (await from.exec('ping', ['-n', '-c', String(count), '-i', '0.1', '-W', '1', to])).stdout;
  } catch (error) {
    // ping exits 1 when some answers are missing; what it printed still counts.
    output = (error as { stdout?: string }).stdout ?? '';
  }
  return [...output.matchAll(/time=([\d.]+) ms/g)].map((match) => Number(match[1]));
}

/**
 * Sends broadcast frames tagged VLAN 100 from one member's eth0 and returns the
 * VLAN the other member's eth0 received them with (undefined: none arrived).
 * This kernel has no 802.1Q devices, so raw packet sockets stand in for them;
 * on receive the kernel moves the tag into metadata (auxdata), as it did on
 * the relayed link, where the relay has to put it back into the frame.
 */
async function vlanOfFrameSent(from: NetNs, to: NetNs): Promise<number | undefined> {
  const marker = randomBytes(8).toString('hex');
  const listener = to.spawn('python3', ['-u', '-c', VLAN_LISTENER, marker]);
  try {
    await listener.waitForOutput(/listening/, 5000);
    await from.exec('python3', ['-c', VLAN_SENDER, marker]);
    const [, vlan] = await listener.waitForOutput(/vlan=(\w+)/, 5000);
    return vlan === 'none' ? undefined : Number(vlan);
  } finally {
    await listener.stop();
  }
}

const VLAN_SENDER = `
import socket, struct, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
frame = b"\\xff" * 6 + b"\\x02\\0\\0\\0\\0\\1" + struct.pack("!HHH", 0x8100, 100, 0x88B5) + sys.argv[1].encode().ljust(46, b"\\0")
for _ in range(5):
    s.send(frame)
    time.sleep(0.05)
`;

const VLAN_LISTENER = `
import socket, struct, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind(("eth0", 0))
s.setsockopt(263, 8, 1)  # PACKET_AUXDATA
s.settimeout(4)
print("listening", flush=True)
marker = sys.argv[1].encode()
deadline = time.time() + 4
while time.time() < deadline:
    try:
        data, ancillary, _, _ = s.recvmsg(2048, 256)
    except socket.timeout:
        break
    if marker not in data:
        continue
    if data[12:14] == b"\\x81\\x00":
        print("vlan=%d" % (struct.unpack("!H", data[14:16])[0] & 0xFFF), flush=True)
        sys.exit(0)
    for level, kind, aux in ancillary:
        status, _, _, _, _, tci, _ = struct.unpack("=IIIHHHH", aux[:20])
        if level == 263 and kind == 8 and status & 0x10:
            print("vlan=%d" % (tci & 0xFFF), flush=True)
            sys.exit(0)
    print("vlan=none", flush=True)
    sys.exit(0)
print("vlan=none", flush=True)
`;

/** Sends raw request lines on one connection; resolves with the three answers. */
function rawRequests(control: string, lines: string): Promise<{ ok: boolean; error?: string; links?: unknown[] }[]> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(control, () => socket.write(lines));
    let received = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      received += chunk;
      const answers = received.split('\n').filter(Boolean);
      if (answers.length === 3) {
        socket.end();
        resolve(answers.map((line) => JSON.parse(line) as { ok: boolean; error?: string; links?: unknown[] }));
      }
    });
    socket.on('error', reject);
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

async function masterOf(ns: NetNs, link: string): Promise<string | undefined> {
  const [details] = JSON.parse((await ns.exec('ip', ['-j', 'link', 'show', 'dev', link])).stdout) as { master?: string }[];
  return details?.master;
}

/** Link names in the namespace that match; polls briefly, since a closed tap goes away asynchronously. */
async function linkNames(ns: NetNs, pattern: RegExp): Promise<string[]> {
  let names: string[] = [];
  for (let attempt = 0; attempt < 20; attempt++) {
    const links = JSON.parse((await ns.exec('ip', ['-j', 'link', 'show'])).stdout) as { ifname: string }[];
    names = links.map((link) => link.ifname).filter((name) => pattern.test(name));
    if (names.length === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return names;
}

async function linkStatus(relay: NetemRelay, link: string): Promise<RelayLinkStatus> {
  const found = (await relay.list()).find((status) => status.link === link);
  assert.ok(found, `${link} is relayed`);
  return found;
}

async function httpServer(ns: NetNs, address: string, directory: string): Promise<ProcessInNamespace> {
  const server = ns.spawn('python3', ['-u', '-m', 'http.server', '8000', '--bind', address, '--directory', directory]);
  await server.waitForOutput(/Serving HTTP/, 10_000);
  return server;
}

async function download(from: NetNs, url: string, output: string): Promise<{ seconds: number; bytesPerSecond: number }> {
  const { stdout } = await from.exec(
    'curl',
    ['-sS', '--fail', '--max-time', '40', '-o', output, '-w', '%{time_total} %{speed_download}', url],
    45_000,
  );
  const [seconds, bytesPerSecond] = stdout.trim().split(' ').map(Number);
  return { seconds: seconds!, bytesPerSecond: bytesPerSecond! };
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
