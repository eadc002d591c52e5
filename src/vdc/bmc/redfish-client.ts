/**
 * The Redfish client `yagura dc power` uses: power actions go through the
 * node's BMC over HTTPS, as an operator's tools would on real servers. The
 * BMC's self-signed certificate is trusted explicitly (its PEM), not ignored.
 */
import { bmcRequest, redfishErrorMessage, type BmcTarget } from '../../lib/bmc-https.js';

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
  /** The BMC's certificate (PEM), trusted for this connection only. */
  ca: string | Buffer;
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
  const state = (JSON.parse(body) as { PowerState?: string }).PowerState;
  return state === 'On' ? 'on' : 'off';
}
