/**
 * The serf RPC client against two real serf agents (Debian's serf 0.9.4) on
 * 127.0.0.1: they join through the RPC join, members() sees both with their
 * tags and addresses, a tag change gossips across, a killed agent turns
 * failed, and the errors (no agent at the port, serf's refusals, auth, a
 * timeout) say what went wrong and where.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SerfClient, SerfRpcError } from '../../src/lib/serf-rpc.js';
import type { SerfMember } from '../../src/lib/serf-codec.js';
import { freePort } from '../helpers/ports.js';
import { SerfAgent, serfAvailable } from '../helpers/serf-agent.js';

const RPC_AUTH = 'yagura-test-rpc-key';

describe('serf RPC client with two real agents', { skip: !serfAvailable() && 'needs Debian serf (/usr/bin/serf)' }, () => {
  let a: SerfAgent | undefined;
  let b: SerfAgent | undefined;
  let clientA: SerfClient | undefined;
  let clientB: SerfClient | undefined;

  before(async () => {
    a = await SerfAgent.start({ name: 'a', tags: { role: 'cs', serial: 'S1' }, rpcAuth: RPC_AUTH });
    b = await SerfAgent.start({ name: 'b', tags: { role: 'ss', serial: 'S2' } });
    clientA = await SerfClient.connect({ host: '127.0.0.1', port: a.rpcPort, authKey: RPC_AUTH, timeoutMs: 10_000 });
    clientB = await SerfClient.connect({ host: '127.0.0.1', port: b.rpcPort, timeoutMs: 10_000 });
  });

  after(async () => {
    await clientA?.close();
    await clientB?.close();
    await a?.stop();
    await b?.stop();
  });

  it('joins a to b through RPC join, and members() lists both alive with their tags and addresses', async () => {
    assert.equal(await clientA!.join([b!.bindAddr], false), 1);
    const members = await waitFor(clientA!, 'both members alive', (list) => list.length === 2 && list.every(isAlive));
    assert.deepEqual(byName(members), [
      { name: 'a', addr: '127.0.0.1', port: a!.bindPort, tags: { role: 'cs', serial: 'S1' }, status: 'alive' },
      { name: 'b', addr: '127.0.0.1', port: b!.bindPort, tags: { role: 'ss', serial: 'S2' }, status: 'alive' },
    ]);
    // b learnt of a through the same join.
    await waitFor(clientB!, 'b sees a', (list) => list.some((m) => m.name === 'a' && isAlive(m)));
  });

  it('filters members by tag, status and name (regular expressions serf anchors)', async () => {
    assert.deepEqual(names(await clientA!.membersFiltered({ role: 'cs' })), ['a']);
    assert.deepEqual(names(await clientA!.membersFiltered({ serial: 'S.' }, 'alive')), ['a', 'b']);
    assert.deepEqual(names(await clientA!.membersFiltered({}, undefined, 'b')), ['b']);
    assert.deepEqual(names(await clientA!.membersFiltered({ role: 'nothing' })), []);
  });

  it("changes b's tags through RPC, and a sees the change", async () => {
    await clientB!.setTags({ 'failed-checks': '', serial: 'S2' }, ['role']);
    const members = await waitFor(clientA!, "b's new tags", (list) => 'failed-checks' in (find(list, 'b')?.tags ?? {}));
    assert.deepEqual(find(members, 'b')!.tags, { 'failed-checks': '', serial: 'S2' });
  });

  it('reads the stats', async () => {
    const stats = await clientA!.stats();
    assert.equal(stats.agent?.name, 'a');
    assert.equal(stats.serf?.members, '2');
  });

  it("turns serf's refusal into an error naming the command", async () => {
    const nobody = await freePort();
    await assert.rejects(clientA!.join([`127.0.0.1:${nobody}`], false), (error: Error) => {
      assert.ok(error instanceof SerfRpcError);
      assert.equal(error.command, 'join');
      assert.match(
        error.message,
        new RegExp(`^serf RPC 127\\.0\\.0\\.1:${a!.rpcPort}: join failed: .*127\\.0\\.0\\.1:${nobody}`),
      );
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
    // The connection stays usable after a refused command.
    assert.equal((await clientA!.members()).length, 2);
  });

  it('needs the auth key when the agent has one, and refuses a wrong one', async () => {
    const unauthenticated = await SerfClient.connect({ host: '127.0.0.1', port: a!.rpcPort, timeoutMs: 5000 });
    try {
      await assert.rejects(unauthenticated.members(), {
        name: 'SerfRpcError',
        message: `serf RPC 127.0.0.1:${a!.rpcPort}: members failed: Authentication required (the agent has an RPC auth key (rpc_auth): pass authKey)`,
      });
    } finally {
      await unauthenticated.close();
    }
    await assert.rejects(SerfClient.connect({ host: '127.0.0.1', port: a!.rpcPort, authKey: 'wrong', timeoutMs: 5000 }), {
      message: /auth failed: Invalid authentication token \(authKey is not the agent's rpc_auth key\)/,
    });
  });

  it('reports a filter serf cannot compile: serf closes the connection', async () => {
    const client = await SerfClient.connect({ host: '127.0.0.1', port: b!.rpcPort, timeoutMs: 5000 });
    try {
      await assert.rejects(client.membersFiltered({ role: '(' }), {
        message:
          /members-filtered got no answer: the agent closed the connection \(serf closes it when a filter is not a valid regular expression\)/,
      });
      await assert.rejects(client.members(), /cannot send members: the agent closed the connection/);
    } finally {
      await client.close();
    }
  });

  it('sees b turn failed after b is killed (serf failure detection; polled, no speed asserted)', async (t) => {
    const killedAt = Date.now();
    await b!.kill();
    const members = await waitFor(clientA!, 'b failed', (list) => find(list, 'b')?.status === 'failed', 120_000);
    t.diagnostic(`b was failed ${Date.now() - killedAt} ms after SIGKILL (profile local)`);
    assert.equal(find(members, 'a')!.status, 'alive');
    assert.deepEqual(find(members, 'b')!.tags, { 'failed-checks': '', serial: 'S2' });
    await assert.rejects(clientB!.members(), /serf RPC 127\.0\.0\.1:\d+: (members got no answer|cannot send members)/);
  });
});

describe('serf RPC client errors without an agent', () => {
  it('names the address and the -rpc-addr to check when nothing listens there', async () => {
    const port = await freePort();
    await assert.rejects(SerfClient.connect({ host: '127.0.0.1', port, timeoutMs: 5000 }), {
      message: `serf RPC 127.0.0.1:${port}: connection refused: is a serf agent running with -rpc-addr 127.0.0.1:${port}?`,
    });
  });

  it('times out against a listener that never answers (a plain TCP server, not serf)', async () => {
    const accepted = new Set<Socket>();
    const silent: Server = createServer((socket) => accepted.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const started = Date.now();
      await assert.rejects(SerfClient.connect({ host: '127.0.0.1', port, timeoutMs: 300 }), {
        message: `serf RPC 127.0.0.1:${port}: handshake got no answer within 300 ms`,
      });
      assert.ok(Date.now() - started < 5000);
    } finally {
      for (const socket of accepted) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

function isAlive(member: SerfMember): boolean {
  return member.status === 'alive';
}

function find(members: SerfMember[], name: string): SerfMember | undefined {
  return members.find((m) => m.name === name);
}

function byName(members: SerfMember[]): SerfMember[] {
  return [...members].sort((x, y) => x.name.localeCompare(y.name));
}

function names(members: SerfMember[]): string[] {
  return members.map((m) => m.name).sort();
}

/** Polls members() until the condition holds; fails with the last list seen. */
async function waitFor(
  client: SerfClient,
  what: string,
  condition: (members: SerfMember[]) => boolean,
  timeoutMs = 30_000,
): Promise<SerfMember[]> {
  const deadline = Date.now() + timeoutMs;
  let members: SerfMember[] = [];
  while (Date.now() < deadline) {
    members = await client.members();
    if (condition(members)) return members;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms; members: ${JSON.stringify(members)}`);
}
