/**
 * Real serf agents (Debian's serf) for tests: each on 127.0.0.1 with free
 * gossip and RPC ports, the local timing profile (loopback needs no LAN
 * timeouts) and its own temp dir for its config. kill() or stop() ends it,
 * and process exit kills any agent a test left behind.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SerfClient } from '../../src/lib/serf-rpc.js';
import { freePort } from './ports.js';
import { tempDir } from './temp.js';

const SERF = process.env.YAGURA_TEST_SERF ?? '/usr/bin/serf';
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function serfAvailable(): boolean {
  return existsSync(SERF);
}

export interface SerfAgentOptions {
  name: string;
  tags?: Record<string, string>;
  /** The agent's rpc_auth key: RPC clients must authenticate with it. */
  rpcAuth?: string;
}

export class SerfAgent {
  private log = '';

  private constructor(
    readonly name: string,
    readonly bindPort: number,
    readonly rpcPort: number,
    private readonly child: ChildProcess,
    private readonly dir: { remove: () => void },
  ) {
    child.stdout!.on('data', (chunk: Buffer) => (this.log = (this.log + chunk.toString()).slice(-4000)));
    child.stderr!.on('data', (chunk: Buffer) => (this.log = (this.log + chunk.toString()).slice(-4000)));
  }

  /** The agent's gossip address, as other agents join it. */
  get bindAddr(): string {
    return `127.0.0.1:${this.bindPort}`;
  }

  /** Starts an agent and waits until its RPC port answers a handshake. */
  static async start(options: SerfAgentOptions): Promise<SerfAgent> {
    const dir = tempDir(`serf-${options.name}`);
    const bindPort = await freePort();
    const rpcPort = await freePort();
    const args = [
      'agent',
      `-node=${options.name}`,
      `-bind=127.0.0.1:${bindPort}`,
      `-rpc-addr=127.0.0.1:${rpcPort}`,
      '-profile=local',
      '-log-level=info',
      ...Object.entries(options.tags ?? {}).map(([key, value]) => `-tag=${key}=${value}`),
    ];
    if (options.rpcAuth !== undefined) {
      const config = join(dir.path, 'serf.json');
      writeFileSync(config, JSON.stringify({ rpc_auth: options.rpcAuth }));
      args.push(`-config-file=${config}`);
    }
    const child = spawn(SERF, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    child.on('exit', () => running.delete(child));
    const agent = new SerfAgent(options.name, bindPort, rpcPort, child, dir);
    try {
      await agent.waitForRpc();
    } catch (error) {
      await agent.stop();
      throw error;
    }
    return agent;
  }

  /** The agent's recent output, for failure messages. */
  get output(): string {
    return this.log;
  }

  /** SIGKILL, as a crashed node: no leave message. Waits until the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    this.dir.remove();
  }

  private async waitForRpc(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null)
        throw new Error(`serf agent ${this.name} exited with ${this.child.exitCode}: ${this.log}`);
      try {
        const client = await SerfClient.connect({ host: '127.0.0.1', port: this.rpcPort, timeoutMs: 1000 });
        await client.close();
        return;
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`serf agent ${this.name} did not answer RPC within ${timeoutMs} ms (${last}): ${this.log}`);
  }
}
