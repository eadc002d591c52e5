/**
 * `dc forward LOCALPORT TARGET`: a listener on the host's loopback whose
 * connections reach a port inside the DC. The host side cannot enter a
 * namespace, so an agent (this CLI, `dc forward-agent`) runs in the target's
 * namespace, listens on a unix socket in the run dir and dials the target; the
 * host side pipes each TCP connection to that socket. The agent is marked as
 * the DC's (processes.ts) and exits when the host side goes away.
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createConnection, createServer, isIP, type Socket } from 'node:net';
import { join } from 'node:path';
import { UserError } from '../lib/errors.js';
import { markedEnvironment } from './host/processes.js';
import type { HostTools } from './host/tools.js';
import type { Roots } from './lifecycle.js';
import { dcNamespace, memberNamespace } from './names.js';
import { readPlan, runPaths } from './run-dir.js';

export interface ForwardOptions {
  dc: string;
  roots: Roots;
  localPort: number;
  target: string;
  entry: string[];
  tools: HostTools;
  log: (line: string) => void;
}

/** Where a forward target is dialled from: a member's namespace (its loopback) or the DC's (an address). */
export function resolveTarget(target: string, dc: string, members: string[]): { namespace: string; host: string; port: number } {
  const colon = target.lastIndexOf(':');
  const name = target.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(target.slice(colon + 1));
  if (colon <= 0 || !/^\d+$/.test(target.slice(colon + 1)) || port < 1 || port > 65535)
    throw new UserError(`target "${target}" must be NODE:PORT or ADDRESS:PORT`, 2);
  if (isIP(name)) return { namespace: dcNamespace(dc), host: name, port };
  if (!members.includes(name))
    throw new UserError(`no router or netns node "${name}" in data center "${dc}" (VMs: give ADDRESS:PORT)`);
  return { namespace: memberNamespace(dc, name), host: '127.0.0.1', port };
}

export async function forwardPort(options: ForwardOptions): Promise<void> {
  const paths = runPaths(options.roots.runRoot, options.dc);
  const { plan } = await readPlan(paths).catch(() => {
    throw new UserError(`no data center named "${options.dc}" is running`);
  });
  const target = resolveTarget(
    options.target,
    options.dc,
    plan.members.map((member) => member.member),
  );
  const socketPath = join(paths.runDir, `forward-${options.localPort}.sock`);
  await rm(socketPath, { force: true });
  const agent = spawn(
    options.tools.ip,
    ['netns', 'exec', target.namespace, ...options.entry, 'dc', 'forward-agent', socketPath, target.host, String(target.port)],
    {
      stdio: ['pipe', 'inherit', 'inherit'],
      env: markedEnvironment(paths.runDir),
    },
  );
  const agentExited = new Promise<void>((resolve) => agent.once('exit', () => resolve()));
  agent.stdin?.on('error', () => {}); // closing the pipe of an agent that is already gone is fine
  await waitForSocket(socketPath, agentExited);
  const server = createServer((client) => {
    const upstream = createConnection(socketPath);
    pipeBoth(client, upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new UserError(error.code === 'EADDRINUSE' ? `127.0.0.1:${options.localPort} is already in use` : error.message)),
    );
    server.listen(options.localPort, '127.0.0.1', resolve);
  }).catch(async (error) => {
    agent.kill();
    throw error;
  });
  options.log(`forwarding 127.0.0.1:${options.localPort} → ${target.host}:${target.port} in ${target.namespace} (Ctrl-C stops)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    void agentExited.then(() => {
      options.log('the forward agent exited (was the data center removed?)');
      resolve();
    });
  });
  server.close();
  agent.stdin?.end();
  agent.kill();
  await rm(socketPath, { force: true });
}

/** The namespace side: unix socket in, TCP out; exits when stdin (the host side) closes. */
export async function runForwardAgent(socketPath: string, host: string, port: number): Promise<void> {
  const server = createServer((inbound) => pipeBoth(inbound, createConnection({ host, port })));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  process.stdin.resume();
  await new Promise<void>((resolve) => process.stdin.once('close', resolve).once('end', resolve));
  server.close();
  process.exit(0);
}

function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const close = (): void => {
    a.destroy();
    b.destroy();
  };
  a.once('error', close).once('close', close);
  b.once('error', close).once('close', close);
}

async function waitForSocket(path: string, agentExited: Promise<void>): Promise<void> {
  let exited = false;
  void agentExited.then(() => (exited = true));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (exited) throw new UserError('the forward agent could not start');
    const ok = await new Promise<boolean>((resolve) => {
      const probe = createConnection(path);
      probe.once('connect', () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new UserError('the forward agent did not start within 10 s');
}
