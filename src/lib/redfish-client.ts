/**
 * A Redfish client for power actions through a server's BMC over HTTPS, as an
 * operator's tools do on real servers: `yagura dc power` (the virtual DC's
 * BMCs, whose self-signed certificate it trusts explicitly by its PEM) and the
 * repair queue (real BMCs, whose self-signed certificates nobody can vouch
 * for: without `ca` the certificate is not checked).
 */
import { request } from 'node:https';

export type PowerAction = 'on' | 'off' | 'shutdown' | 'reset' | 'cycle';

const RESET_TYPES: Record<PowerAction, string> = {
  on: 'On',
  off: 'ForceOff',
  shutdown: 'GracefulShutdown',
  reset: 'ForceRestart',
  cycle: 'PowerCycle',
};

export const SYSTEM_PATH = '/redfish/v1/Systems/System.Embedded.1';

const DEFAULT_TIMEOUT_MS = 30_000;

export interface RedfishTarget {
  host: string;
  port: number;
  username: string;
  password: string;
  /** The BMC's certificate (PEM), trusted for this connection only; undefined: the certificate is not checked. */
  ca?: string | Buffer;
  /** How long one request may take (default 30 s). */
  timeoutMs?: number;
}

/** Sends the reset; a 409 (already in that state) is not an error. Returns the HTTP status. */
export async function redfishReset(target: RedfishTarget, action: PowerAction): Promise<number> {
  const { status, body } = await call(target, 'POST', `${SYSTEM_PATH}/Actions/ComputerSystem.Reset`, {
    ResetType: RESET_TYPES[action],
  });
  if (status >= 300 && status !== 409) throw new Error(`BMC answered ${status} to ${RESET_TYPES[action]}: ${errorMessage(body)}`);
  return status;
}

export async function redfishPowerState(target: RedfishTarget): Promise<'on' | 'off'> {
  const { status, body } = await call(target, 'GET', SYSTEM_PATH);
  if (status !== 200) throw new Error(`BMC answered ${status} to GET ${SYSTEM_PATH}: ${errorMessage(body)}`);
  let state: unknown;
  try {
    state = (JSON.parse(body) as { PowerState?: unknown }).PowerState;
  } catch {
    throw new Error(`BMC answered GET ${SYSTEM_PATH} with something that is not JSON: ${body.slice(0, 200)}`);
  }
  return state === 'On' ? 'on' : 'off';
}

function call(target: RedfishTarget, method: string, path: string, json?: unknown): Promise<{ status: number; body: string }> {
  const payload = json === undefined ? undefined : JSON.stringify(json);
  const timeoutMs = target.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.host,
        port: target.port,
        method,
        path,
        // A fresh connection each time: a BMC that reset drops pooled ones, which would fail the next call.
        agent: false,
        ...(target.ca === undefined ? { rejectUnauthorized: false } : { ca: target.ca }),
        auth: `${target.username}:${target.password}`,
        headers:
          payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        timeout: timeoutMs,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`the BMC at ${target.host} did not answer within ${Math.round(timeoutMs / 1000)} s`)),
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function errorMessage(body: string): string {
  try {
    return (JSON.parse(body) as { error?: { message?: string } }).error?.message ?? body.slice(0, 200);
  } catch {
    return body.slice(0, 200);
  }
}
