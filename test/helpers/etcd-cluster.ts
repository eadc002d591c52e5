/**
 * Real etcd (Debian's etcd-server) for tests: one or more members on
 * 127.0.0.1 random ports, each with its own temp data dir; everything is killed
 * and removed by stop(), and by process exit if a test dies first.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { freePort } from './ports.js';
import { tempDir } from './temp.js';

const ETCD = process.env.YAGURA_TEST_ETCD ?? '/usr/bin/etcd';
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function etcdAvailable(): boolean {
  return existsSync(ETCD);
}

/** Serve clients over TLS with these PEM files (and require client certificates when clientCertAuth). */
export interface EtcdTls {
  certFile: string;
  keyFile: string;
  caFile: string;
  clientCertAuth: boolean;
  /** Client certificate for the test's own health checks. */
  clientCertFile: string;
  clientKeyFile: string;
}

export class EtcdMember {
  process: ChildProcess | undefined;
  private log = '';

  constructor(
    readonly name: string,
    readonly clientUrl: string,
    readonly peerUrl: string,
    readonly dataDir: string,
    private readonly initialCluster: string,
    private readonly tls?: EtcdTls,
  ) {}

  start(): void {
    const child = spawn(
      ETCD,
      [
        `--name=${this.name}`,
        `--data-dir=${this.dataDir}`,
        `--listen-client-urls=${this.clientUrl}`,
        `--advertise-client-urls=${this.clientUrl}`,
        `--listen-peer-urls=${this.peerUrl}`,
        `--initial-advertise-peer-urls=${this.peerUrl}`,
        `--initial-cluster=${this.initialCluster}`,
        '--initial-cluster-state=new',
        '--initial-cluster-token=yagura-test',
        '--logger=zap',
        '--log-level=warn',
        ...(this.tls
          ? [
              `--cert-file=${this.tls.certFile}`,
              `--key-file=${this.tls.keyFile}`,
              `--trusted-ca-file=${this.tls.caFile}`,
              `--client-cert-auth=${this.tls.clientCertAuth}`,
            ]
          : []),
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.env.ETCD_UNSUPPORTED_ARCH ?? '' },
      },
    );
    child.stderr!.on('data', (chunk: Buffer) => (this.log = (this.log + chunk.toString()).slice(-4000)));
    running.add(child);
    child.on('exit', () => running.delete(child));
    this.process = child;
  }

  /** SIGKILL, and wait until the process is gone. */
  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async waitHealthy(timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.process?.exitCode !== null && this.process?.exitCode !== undefined) {
        throw new Error(`etcd ${this.name} exited with ${this.process.exitCode}: ${this.log}`);
      }
      try {
        if ((await this.healthBody()).health === 'true') return;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`etcd ${this.name} did not become healthy in ${timeoutMs} ms: ${this.log}`);
  }

  private async healthBody(): Promise<{ health?: string }> {
    if (!this.tls) {
      const response = await fetch(`${this.clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
      return (await response.json()) as { health?: string };
    }
    const tls = this.tls;
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.clientUrl}/health`,
        {
          ca: readFileSync(tls.caFile),
          cert: readFileSync(tls.clientCertFile),
          key: readFileSync(tls.clientKeyFile),
          timeout: 1000,
        },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => {
            try {
              resolve(JSON.parse(body) as { health?: string });
            } catch (error) {
              reject(error);
            }
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  }
}

export class EtcdCluster {
  private constructor(
    readonly members: EtcdMember[],
    private readonly dir: { remove: () => void },
  ) {}

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  static async start(size = 1, options: { tls?: EtcdTls } = {}): Promise<EtcdCluster> {
    const dir = tempDir('etcd');
    const scheme = options.tls ? 'https' : 'http';
    const specs = [];
    for (let i = 0; i < size; i++) {
      specs.push({
        name: `m${i}`,
        client: `${scheme}://127.0.0.1:${await freePort()}`,
        peer: `http://127.0.0.1:${await freePort()}`,
      });
    }
    const initialCluster = specs.map((s) => `${s.name}=${s.peer}`).join(',');
    const members = specs.map(
      (s) => new EtcdMember(s.name, s.client, s.peer, `${dir.path}/${s.name}`, initialCluster, options.tls),
    );
    const cluster = new EtcdCluster(members, dir);
    try {
      for (const m of members) m.start();
      await Promise.all(members.map((m) => m.waitHealthy()));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** The member that is currently the raft leader. */
  async leader(): Promise<EtcdMember> {
    for (const member of this.members) {
      try {
        const response = await fetch(`${member.clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}' });
        const status = (await response.json()) as { header: { member_id: string }; leader: string };
        if (status.header.member_id === status.leader) return member;
      } catch {
        // a dead member cannot be the leader
      }
    }
    throw new Error('no etcd member reports itself as leader');
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.kill()));
    this.dir.remove();
  }
}
