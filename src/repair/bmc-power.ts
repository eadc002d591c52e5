/**
 * Power-cycling a machine through its BMC, as an operator would: IPMI with
 * the real ipmitool (`-I lanplus … chassis power status`, then `cycle`, or
 * `on` when the machine is off), Redfish over HTTPS (GET the system's
 * PowerState, then a ComputerSystem.Reset of PowerCycle, or On). The password
 * goes to ipmitool through its environment (-E), never on its command line,
 * where every user of the host could read it. A BMC whose certificate is
 * self-signed (they all are) is not checked. Every failure is one line that
 * names the BMC and what went wrong, never the password.
 */
import { execFile } from 'node:child_process';
import type { BmcCredentials } from '../inventory/bmc-credentials.js';
import type { BmcPorts } from '../lib/bmc-ports.js';
import { redfishPowerState, redfishReset } from '../lib/redfish-client.js';
import type { BmcProtocol } from './model.js';

export interface PowerCycleTarget {
  protocol: BmcProtocol;
  address: string;
  credentials: BmcCredentials;
  ports: BmcPorts;
  /** How long one request to the BMC may take (default 10 s). */
  timeoutMs?: number;
  /** The ipmitool program (default: ipmitool on the PATH). */
  ipmitool?: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** Cycles the machine's power, or powers it on when it is off; returns what was done, for the audit log. */
export async function powerCycle(target: PowerCycleTarget): Promise<string> {
  return target.protocol === 'ipmi' ? ipmiPowerCycle(target) : redfishPowerCycle(target);
}

async function ipmiPowerCycle(target: PowerCycleTarget): Promise<string> {
  const status = await ipmitool(target, ['chassis', 'power', 'status']);
  const on = /\bis on\b/i.test(status);
  if (!on && !/\bis off\b/i.test(status))
    throw new Error(`IPMI at ${target.address}: cannot tell the power state from ${JSON.stringify(status.trim())}`);
  await ipmitool(target, ['chassis', 'power', on ? 'cycle' : 'on']);
  return on ? `power cycled through IPMI at ${target.address}` : `powered on through IPMI at ${target.address} (it was off)`;
}

function ipmitool(target: PowerCycleTarget, command: string[]): Promise<string> {
  const timeoutMs = target.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // ipmitool's own retries (-R, -N seconds each) fit inside the time allowed; the kill is the backstop.
  const retries = 2;
  const perTry = Math.max(1, Math.floor(timeoutMs / 1000 / (retries + 1)));
  const args = [
    '-I',
    'lanplus',
    '-H',
    target.address,
    '-p',
    String(target.ports.ipmi),
    '-U',
    target.credentials.user,
    '-E',
    '-R',
    String(retries),
    '-N',
    String(perTry),
    ...command,
  ];
  const program = target.ipmitool ?? 'ipmitool';
  return new Promise((resolve, reject) => {
    execFile(
      program,
      args,
      {
        env: { ...process.env, IPMITOOL_PASSWORD: target.credentials.password },
        timeout: timeoutMs * 2,
        killSignal: 'SIGKILL',
      },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return reject(new Error(`${program} is not installed on this server (apt-get install ipmitool)`));
        if ((error as { killed?: boolean }).killed)
          return reject(
            new Error(`IPMI at ${target.address}: the BMC did not answer within ${Math.round((timeoutMs * 2) / 1000)} s`),
          );
        const said = stderr
          .split('\n')
          .map((line) => line.trim())
          .filter((line) => line !== '' && !/password/i.test(line));
        reject(new Error(`IPMI at ${target.address}: ${said.at(-1)?.replace(/^Error:\s*/, '') ?? `ipmitool exited ${code}`}`));
      },
    );
  });
}

async function redfishPowerCycle(target: PowerCycleTarget): Promise<string> {
  const redfish = {
    host: target.address,
    port: target.ports.redfish,
    username: target.credentials.user,
    password: target.credentials.password,
    timeoutMs: target.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  };
  try {
    const on = (await redfishPowerState(redfish)) === 'on';
    await redfishReset(redfish, on ? 'cycle' : 'on');
    return on
      ? `power cycled through Redfish at ${target.address}`
      : `powered on through Redfish at ${target.address} (it was off)`;
  } catch (error) {
    const message = (error as Error).message;
    throw new Error(message.includes(target.address) ? `Redfish: ${message}` : `Redfish at ${target.address}: ${message}`, {
      cause: error,
    });
  }
}
