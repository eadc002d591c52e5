/**
 * The QMP client (src/vdc/host/qmp.ts) against a real QEMU that is started
 * paused (-S, nothing to boot): commands and their errors, events, quit, and
 * the timeouts a user sees when the other end does not speak QMP.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { QmpClient, QmpError, type QmpEvent } from '../../src/vdc/host/qmp.js';
import { registerCleanup } from '../helpers/netns.js';
import { QEMU } from '../helpers/qemu.js';
import { tempDir } from '../helpers/temp.js';

let dir: { path: string; remove: () => void };
before(() => {
  dir = tempDir('vdc-qmp');
});
after(() => dir?.remove());

async function pausedQemu(socket: string): Promise<ChildProcess> {
  const child = spawn(
    QEMU,
    ['-S', '-nodefaults', '-display', 'none', '-machine', 'pc', '-accel', 'tcg', '-m', '64M'].concat([
      '-qmp',
      `unix:${socket},server=on,wait=off`,
    ]),
    { stdio: 'ignore' },
  );
  const unregister = registerCleanup(() => child.exitCode === null && child.kill('SIGKILL'));
  child.once('exit', unregister);
  for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  return child;
}

describe('QMP client', () => {
  it('negotiates, runs commands, reports refused ones, delivers events, and sees QEMU quit', async () => {
    const socket = join(dir.path, 'vm.qmp');
    const qemu = await pausedQemu(socket);
    const exited = new Promise((resolve) => qemu.once('exit', resolve));
    const qmp = await QmpClient.connect(socket);
    try {
      assert.deepEqual(await qmp.execute('query-status'), { status: 'prelaunch', singlestep: false, running: false });
      await assert.rejects(qmp.execute('no-such-command'), (error: unknown) => {
        assert.ok(error instanceof QmpError);
        assert.equal(error.errorClass, 'CommandNotFound');
        assert.match(error.message, /no-such-command failed: The command no-such-command has not been found/);
        return true;
      });
      await assert.rejects(qmp.execute('system_reset', { bogus: 1 }), /system_reset failed: .*bogus/);

      const events: QmpEvent[] = [];
      qmp.onEvent((event) => events.push(event));
      await qmp.execute('cont');
      await qmp.execute('system_reset');
      await qmp.execute('stop');
      for (let i = 0; i < 50 && events.length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(
        events.map((event) => event.event),
        ['RESUME', 'RESET', 'STOP'],
      );
      assert.equal(events[1]!.data?.guest, false, 'the reset came from the host');

      await qmp.execute('quit').catch(() => undefined); // QEMU may close before it replies
      await qmp.closed;
      await exited;
      await assert.rejects(qmp.execute('query-status'), /cannot run query-status: /);
    } finally {
      qmp.close();
      if (qemu.exitCode === null) qemu.kill('SIGKILL');
    }
  });

  it('fails with a clear error when nothing listens, or the other end never greets', async () => {
    await assert.rejects(
      QmpClient.connect(join(dir.path, 'nothing.qmp')),
      (error: unknown) => error instanceof QmpError && /nothing\.qmp: cannot connect: .*ENOENT/.test(error.message),
    );
    const silent = join(dir.path, 'silent.qmp');
    const server = createServer(() => {});
    await new Promise<void>((resolve) => server.listen(silent, resolve));
    try {
      await assert.rejects(QmpClient.connect(silent, { timeoutMs: 300 }), /silent\.qmp: no greeting within 300 ms/);
    } finally {
      server.close();
    }
  });
});
