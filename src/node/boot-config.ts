/**
 * The node's Ignition config from a boot server, by serial, as the node OS
 * gets it: the machine's role (GET /api/v1/machines?serial=), the role's
 * newest template (GET /api/v1/ignitions/ROLE, the ID the boot server's iPXE
 * script puts into ignition.config.url), and that template rendered for the
 * machine (GET /api/v1/boot/ignitions/SERIAL/ID). The iPXE script itself is
 * not used: a boot server answers it only when it holds an OS image, which a
 * netns server does not need. Until a server has the machine and a template,
 * the answer is why not, so the caller can wait.
 */
import { httpGet } from '../lib/http-get.js';
import { renderedConfigPath, templateToApply } from './join-plan.js';

export type ConfigAnswer =
  { kind: 'config'; url: string; role: string; id: string; config: unknown } | { kind: 'waiting'; reason: string };

const TIMEOUT_MS = 10_000;

/** Asks each boot server in turn; the first config wins, else every server's reason. */
export async function fetchConfig(urls: readonly string[], serial: string, signal: AbortSignal): Promise<ConfigAnswer> {
  if (urls.length === 0)
    return { kind: 'waiting', reason: 'a boot server: the lease names no DHCP server and no --boot-server was given' };
  const reasons: string[] = [];
  for (const url of urls) {
    const answer = await fromServer(url, serial, signal);
    if (answer.kind === 'config') return answer;
    reasons.push(`${url}: ${answer.reason}`);
  }
  return { kind: 'waiting', reason: reasons.join('; ') };
}

async function fromServer(base: string, serial: string, signal: AbortSignal): Promise<ConfigAnswer> {
  const machines = await getJson(`${base}/api/v1/machines?serial=${encodeURIComponent(serial)}`, signal);
  if (machines.kind === 'waiting') return machines;
  const machine = Array.isArray(machines.body) ? (machines.body[0] as { spec?: { role?: unknown } } | undefined) : undefined;
  const role = machine?.spec?.role;
  if (typeof role !== 'string') return { kind: 'waiting', reason: `machine ${serial} to be registered` };
  const ids = await getJson(`${base}/api/v1/ignitions/${encodeURIComponent(role)}`, signal);
  if (ids.kind === 'waiting') return ids;
  const id = Array.isArray(ids.body) ? templateToApply(ids.body.filter((x): x is string => typeof x === 'string')) : undefined;
  if (id === undefined)
    return { kind: 'waiting', reason: `an Ignition template of role ${role} (yagura ignitions set ${role} ID -f FILE)` };
  const config = await getJson(`${base}${renderedConfigPath(serial, id)}`, signal);
  if (config.kind === 'waiting') return config;
  return { kind: 'config', url: `${base}${renderedConfigPath(serial, id)}`, role, id, config: config.body };
}

async function getJson(
  url: string,
  signal: AbortSignal,
): Promise<{ kind: 'ok'; body: unknown } | { kind: 'waiting'; reason: string }> {
  let response: { status: number; text: string };
  try {
    response = await get(url, signal);
  } catch (error) {
    const code = (error as { code?: string }).code;
    return { kind: 'waiting', reason: `an answer to GET ${url} (${code ?? (error as Error).message})` };
  }
  const { status, text } = response;
  if (status < 200 || status > 299) {
    let message = text.trim().slice(0, 300);
    try {
      message = String((JSON.parse(text) as { error?: unknown }).error ?? message);
    } catch {
      // not JSON: keep the text
    }
    return { kind: 'waiting', reason: `GET ${url} to succeed (${status}: ${message})` };
  }
  try {
    return { kind: 'ok', body: JSON.parse(text) as unknown };
  } catch {
    return { kind: 'waiting', reason: `GET ${url} to answer JSON (got ${JSON.stringify(text.slice(0, 80))})` };
  }
}

/** The status and text of a GET (httpGet: fetch refuses the API's port 10080), within TIMEOUT_MS. */
async function get(url: string, signal: AbortSignal): Promise<{ status: number; text: string }> {
  const response = await httpGet(url, AbortSignal.any([signal, AbortSignal.timeout(TIMEOUT_MS)]));
  return { status: response.status, text: await response.text() };
}
