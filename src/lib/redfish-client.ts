/**
 * A Redfish client for power actions through a server's BMC over HTTPS, as an
 * operator's tools do on real servers: `yagura dc power` (the virtual DC's
 * BMCs, whose self-signed certificate it trusts explicitly by its PEM) and the
 * repair queue (real BMCs, whose self-signed certificates nobody can vouch
 * for: without `ca` the certificate is not checked).
 */
import { bmcRequest, redfishErrorMessage, type BmcTarget } from './bmc-https.js';

export type PowerAction = 'on' | 'off' | 'shutdown' | 'reset' | 'cycle';

const RESET_TYPES: Record<PowerAction, string> = {
  on: 'On',
  off: 'ForceOff',
  shutdown: 'GracefulShutdown',
  reset: 'ForceRestart',
  cycle: 'PowerCycle',
};

export const SYSTEM_PATH = '/redfish/v1/Systems/System.Embedded.1';

export interface RedfishTarget extends BmcTarget {
  port: number;
}

/** Sends the reset; a 409 (already in that state) is not an error. Returns the HTTP status. */
export async function redfishReset(target: RedfishTarget, action: PowerAction): Promise<number> {
  const { status, body } = await bmcRequest(target, 'POST', `${SYSTEM_PATH}/Actions/ComputerSystem.Reset`, {
    ResetType: RESET_TYPES[action],
  });
  if (status >= 300 && status !== 409)
    throw new Error(`BMC answered ${status} to ${RESET_TYPES[action]}: ${redfishErrorMessage(body)}`);
  return status;
}

export async function redfishPowerState(target: RedfishTarget): Promise<'on' | 'off'> {
  const { status, body } = await bmcRequest(target, 'GET', SYSTEM_PATH);
  if (status !== 200) throw new Error(`BMC answered ${status} to GET ${SYSTEM_PATH}: ${redfishErrorMessage(body)}`);
  let state: unknown;
  try {
    state = (JSON.parse(body) as { PowerState?: unknown }).PowerState;
  } catch {
    throw new Error(`BMC answered GET ${SYSTEM_PATH} with something that is not JSON: ${body.slice(0, 200)}`);
  }
  return state === 'On' ? 'on' : 'off';
}
