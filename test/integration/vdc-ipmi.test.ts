/**
 * The virtual BMC's IPMI server with the real ipmitool (Debian's 1.8.19,
 * `-I lanplus`) on 127.0.0.1, in front of an in-memory machine (the
 * QEMU-backed one is not started here): power and boot device control and
 * status with cipher suite 3, 17 and ipmitool's own choice; a wrong password
 * and a hand-made unauthenticated IPMI v1.5 "power up" change nothing; a
 * burst of junk datagrams is counted and dropped, and ipmitool still works.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { encodeRequest } from '../../src/vdc/bmc/ipmi/message.js';
import { encodeRmcp, RmcpClass } from '../../src/vdc/bmc/ipmi/rmcp.js';
import { type IpmiServer, type IpmiServerStats, startIpmiServer } from '../../src/vdc/bmc/ipmi/server.js';
import { encodeV15 } from '../../src/vdc/bmc/ipmi/session-v15.js';
import { InMemoryMachine } from '../unit/vdc-ipmi-support.js';

const IPMITOOL = process.env.YAGURA_TEST_IPMITOOL ?? '/usr/bin/ipmitool';
const USER = 'u';
const PASSWORD = 'p';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('IPMI over LAN with the real ipmitool, against an in-memory machine', { timeout: 180_000 }, () => {
  const machine = new InMemoryMachine();
  const opened: number[] = [];
  const log = {
    debug() {},
    info(fields: { suite?: number }, message: string) {
      if (message === 'IPMI session opened' && fields.suite) opened.push(fields.suite);
    },
    warn() {},
    error() {},
  };
  let server: IpmiServer;
  let client: Socket;

  before(async () => {
    server = await startIpmiServer({
      host: '127.0.0.1',
      port: 0,
      username: USER,
      password: PASSWORD,
      machine,
      log,
    });
    client = createSocket('udp4');
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
  });

  after(async () => {
    client?.close();
    await server?.close();
  });

  /** ipmitool with one try and a 2 s timeout, so that a failing test fails fast. */
  function ipmitool(args: string[], options: { cipher?: string; password?: string } = {}): Promise<Run> {
    const argv = ['-I', 'lanplus', ...(options.cipher ? ['-C', options.cipher] : [])];
    argv.push(
      '-U',
      USER,
      '-P',
      options.password ?? PASSWORD,
      '-H',
      '127.0.0.1',
      '-p',
      String(server.port),
      '-R',
      '1',
      '-N',
      '2',
      ...args,
    );
    return new Promise((resolve) => {
      execFile(IPMITOOL, argv, { timeout: 20_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
    });
  }

  async function ok(args: string[], cipher?: string): Promise<string> {
    const run = await ipmitool(args, { cipher });
    assert.equal(run.code, 0, `ipmitool ${args.join(' ')} failed: ${run.stderr}`);
    return run.stdout;
  }

  for (const cipher of ['3', '17', undefined]) {
    describe(cipher ? `cipher suite ${cipher}` : 'the cipher suite ipmitool picks (17)', () => {
      it('controls power: status, on, off, cycle, reset, soft', async () => {
        const suitesBefore = opened.length;
        machine.state = 'off';
        assert.equal((await ok(['power', 'status'], cipher)).trim(), 'Chassis Power is off');
        assert.match(await ok(['power', 'on'], cipher), /Chassis Power Control: Up\/On/);
        assert.equal(machine.state, 'on');
        assert.equal((await ok(['power', 'status'], cipher)).trim(), 'Chassis Power is on');
        assert.match(await ok(['power', 'off'], cipher), /Chassis Power Control: Down\/Off/);
        assert.equal(machine.state, 'off');
        assert.match(await ok(['power', 'cycle'], cipher), /Chassis Power Control: Cycle/);
        assert.match(await ok(['power', 'reset'], cipher), /Chassis Power Control: Reset/);
        assert.equal(machine.state, 'on');
        assert.match(await ok(['power', 'soft'], cipher), /Chassis Power Control: Soft/);
        assert.equal(machine.state, 'off');
        assert.deepEqual(machine.actions.slice(-5), ['powerOn', 'powerOff', 'cycle', 'reset', 'shutdown']);
        assert.deepEqual(new Set(opened.slice(suitesBefore)), new Set([Number(cipher ?? 17)]));
      });

      it('shows the chassis status', async () => {
        machine.state = 'on';
        const status = await ok(['chassis', 'status'], cipher);
        assert.match(status, /^System Power\s+: on$/m);
        assert.match(status, /^Main Power Fault\s+: false$/m);
      });

      it('sets the next boot to PXE and reads it back', async () => {
        machine.override = { device: 'disk', once: false };
        assert.match(await ok(['chassis', 'bootdev', 'pxe'], cipher), /Set Boot Device to pxe/);
        assert.deepEqual(machine.override, { device: 'pxe', once: true });
        const flags = await ok(['chassis', 'bootparam', 'get', '5'], cipher);
        assert.match(flags, /Boot Flag Valid/);
        assert.match(flags, /Options apply to only next boot/);
        assert.match(flags, /Boot Device Selector : Force PXE/);
      });

      it('shows the BMC with mc info', async () => {
        const info = await ok(['mc', 'info'], cipher);
        assert.match(info, /^IPMI Version\s+: 2\.0$/m);
        assert.match(info, /Chassis Device/);
      });
    });
  }

  it('persists a disk override with options=persistent and clears it with bootdev none', async () => {
    await ok(['chassis', 'bootdev', 'disk', 'options=persistent']);
    assert.deepEqual(machine.override, { device: 'disk', once: false });
    await ok(['chassis', 'bootdev', 'none']);
    assert.equal(machine.override, undefined);
  });

  it('lists cipher suites 17 and 3 only, and refuses suite 1 and suite 0', async () => {
    const ciphers = await ok(['channel', 'getciphers', 'ipmi']);
    assert.deepEqual(
      ciphers
        .split('\n')
        .slice(1)
        .filter(Boolean)
        .map((line) => line.split(/\s+/)[0]),
      ['17', '3'],
    );
    for (const [cipher, message] of [
      ['1', /invalid integrity algorithm/],
      ['0', /invalid authentication algorithm/],
    ] as const) {
      const run = await ipmitool(['power', 'on'], { cipher });
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, message);
    }
  });

  it('refuses a wrong password: ipmitool fails and the power stays as it was', async () => {
    machine.state = 'off';
    const actions = machine.actions.length;
    const run = await ipmitool(['power', 'on'], { password: 'not-the-password' });
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /Unable to establish IPMI v2 \/ RMCP\+ session/);
    assert.equal(machine.state, 'off');
    assert.equal(machine.actions.length, actions);
    assert.equal(server.stats().sessions.active, 0);
  });

  it('does nothing for a hand-made IPMI v1.5 Chassis Control "power up" without authentication', async () => {
    machine.state = 'off';
    const actions = machine.actions.length;
    const powerUp = encodeRmcp(
      RmcpClass.IPMI,
      encodeV15({ message: encodeRequest({ netFn: 0x00, cmd: 0x02, data: Buffer.of(0x01) }) }),
    );
    const dropped = server.stats().dropped['needs-session'] ?? 0;
    assert.equal(await exchange(powerUp), undefined);
    assert.equal(server.stats().dropped['needs-session'], dropped + 1);
    assert.equal(machine.state, 'off');
    assert.equal(machine.actions.length, actions);
    // The same socket and framing do get an answer to the one v1.5 command the BMC takes: the silence above is a refusal.
    const probe = encodeRmcp(
      RmcpClass.IPMI,
      encodeV15({ message: encodeRequest({ netFn: 0x06, cmd: 0x38, data: Buffer.of(0x8e, 0x04) }) }),
    );
    assert.ok(await exchange(probe));
  });

  it('drops a burst of 3,000 junk datagrams, counting them, and still serves ipmitool', async () => {
    const before = server.stats();
    const count = 3_000;
    // In chunks the socket buffer holds, so that the kernel does not drop any and every datagram is accounted for.
    for (let sent = 0; sent < count;) {
      for (const end = sent + 100; sent < end; sent++) {
        const junk = randomBytes(Math.floor(Math.random() * 160));
        // Half of them get a valid RMCP header and an IPMI v1.5 or RMCP+ auth type, to reach the session layers.
        if (sent % 2 === 0 && junk.length > 5) Buffer.of(0x06, 0x00, 0xff, 0x07, sent % 4 === 0 ? 0x06 : 0x00).copy(junk);
        client.send(junk, server.port, '127.0.0.1');
      }
      await waitFor(() => server.stats().received >= before.received + sent, 5_000);
    }
    const settled = (s: IpmiServerStats) => s.answered + Object.values(s.dropped).reduce((sum, n) => sum + (n ?? 0), 0);
    await waitFor(() => settled(server.stats()) >= settled(before) + count, 5_000);
    const stats = server.stats();
    assert.equal(stats.received - before.received, count);
    assert.equal(settled(stats) - settled(before), count, 'every datagram is answered or counted as dropped');
    assert.ok(stats.answered - before.answered < 10, `${stats.answered - before.answered} junk datagrams answered`);
    assert.equal(stats.dropped['internal-error'], undefined);
    machine.state = 'off';
    assert.equal((await ok(['power', 'status'])).trim(), 'Chassis Power is off');
    await ok(['power', 'on']);
    assert.equal(machine.state, 'on');
  });

  it('refuses credentials IPMI cannot carry before listening, naming which one', async () => {
    const start = (username: string, password: string) =>
      startIpmiServer({ host: '127.0.0.1', port: 0, username, password, machine });
    await assert.rejects(start('', 'p'), /IPMI user name must be 1–16 printable ASCII characters \(got 0 characters\)/);
    await assert.rejects(start('a'.repeat(17), 'p'), /user name must be 1–16 .*got 17 characters/);
    await assert.rejects(
      start('u', 'p'.repeat(21)),
      /IPMI password must be 1–20 printable ASCII characters \(got 21 characters\)/,
    );
    await assert.rejects(start('u', 'pässword'), /password must be 1–20 .*some not printable ASCII/);
  });

  /** Sends one datagram from the test's socket and waits up to 500 ms for an answer. */
  function exchange(datagram: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        client.off('message', onMessage);
        resolve(undefined);
      }, 500);
      const onMessage = (message: Buffer) => {
        clearTimeout(timer);
        client.off('message', onMessage);
        resolve(message);
      };
      client.on('message', onMessage);
      client.send(datagram, server.port, '127.0.0.1');
    });
  }
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the server to read the burst');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
