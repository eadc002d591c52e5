/**
 * Provisioning a server's BMC account, the part of Neco's setup-hw that
 * replaces the factory user: through Redfish's AccountService, log in with
 * the factory credentials and turn the account into the one Yagura keeps in
 * its store (user name, password, Administrator, enabled), so the factory
 * credentials stop working. Safe to repeat: a BMC that already takes the new
 * credentials is only checked, and one where an account of the new name
 * exists next to the factory one gets that account set and the factory
 * account disabled.
 *
 * iDRAC's account slots are PATCHed, never created (POST), as on iDRAC. No
 * password ever appears in an error.
 */
import { bmcRequest, redfishErrorMessage } from '../lib/bmc-https.js';
import { mapLimited } from '../lib/concurrency.js';
import { BmcReadError, resourceReader, type BmcConnection, type Credentials } from './redfish-hardware.js';

export const ACCOUNTS_PATH = '/redfish/v1/AccountService/Accounts';

export interface ProvisionResult {
  /** provisioned: this call changed the BMC; already: it was as wanted before. */
  outcome: 'provisioned' | 'already';
  /** The account slot that now holds the new credentials ("2"). */
  accountId: string;
  /** The factory account's slot, when it was another slot and has been disabled. */
  disabledFactoryAccount?: string;
}

interface AccountSlot {
  path: string;
  id: string;
  userName: string;
  enabled: boolean;
  role: string;
}

export async function provisionBmcAccount(
  bmc: BmcConnection,
  factory: Credentials,
  wanted: Credentials,
): Promise<ProvisionResult> {
  const where = `BMC ${bmc.host}`;
  const as = (credentials: Credentials) => ({ ...bmc, timeoutMs: bmc.timeoutMs ?? 10_000, ...credentials });

  const current = await accountsOrRefused(as(wanted));
  if (current !== 'refused') {
    const own = current.find((slot) => slot.userName === wanted.username);
    if (own === undefined || own.role !== 'Administrator')
      throw new Error(`${where}: user ${wanted.username} can log in but is not an Administrator; fix its role by hand`);
    const factoryLeft = factory.username !== wanted.username ? await factoryStillWorks(as(factory)) : false;
    if (!factoryLeft) return { outcome: 'already', accountId: own.id };
    const factorySlot = current.find((slot) => slot.userName === factory.username)!;
    await patch(as(wanted), factorySlot.path, { Enabled: false });
    return { outcome: 'provisioned', accountId: own.id, disabledFactoryAccount: factorySlot.id };
  }

  const slots = await accountsOrRefused(as(factory));
  if (slots === 'refused')
    throw new Error(
      `${where} refuses both the new credentials (user ${wanted.username}) and the factory ones (user ${factory.username}): ` +
        'it was provisioned with other credentials, or its factory credentials are not the ones configured',
    );
  const factorySlot = slots.find((slot) => slot.userName === factory.username);
  const target = slots.find((slot) => slot.userName === wanted.username) ?? factorySlot;
  if (target === undefined) throw new Error(`${where}: no account has the factory user name ${factory.username}`);
  await patch(as(factory), target.path, {
    UserName: wanted.username,
    Password: wanted.password,
    RoleId: 'Administrator',
    Enabled: true,
  });
  let disabledFactoryAccount: string | undefined;
  if (factorySlot && factorySlot.id !== target.id) {
    await patch(as(wanted), factorySlot.path, { Enabled: false });
    disabledFactoryAccount = factorySlot.id;
  }
  if ((await accountsOrRefused(as(wanted))) === 'refused')
    throw new Error(`${where} accepted the new account ${target.id} but refuses its credentials (user ${wanted.username})`);
  if (!sameCredentials(factory, wanted) && (await factoryStillWorks(as(factory))))
    throw new Error(`${where}: the factory credentials (user ${factory.username}) still work after provisioning`);
  return { outcome: 'provisioned', accountId: target.id, ...(disabledFactoryAccount ? { disabledFactoryAccount } : {}) };
}

/** Every account slot, read with these credentials; 'refused' when the BMC does not take them. */
async function accountsOrRefused(target: BmcConnection & Credentials): Promise<AccountSlot[] | 'refused'> {
  const get = resourceReader(target);
  let collection;
  try {
    collection = await get(ACCOUNTS_PATH);
  } catch (error) {
    if (error instanceof BmcReadError && error.status === 401) return 'refused';
    throw error;
  }
  const paths = (Array.isArray(collection.Members) ? collection.Members : [])
    .map((member: unknown) => (member as { '@odata.id'?: unknown })?.['@odata.id'])
    .filter((path): path is string => typeof path === 'string');
  const accounts = await mapLimited(paths, 4, get);
  return accounts.map((account, i) => ({
    path: paths[i]!,
    id: String(account.Id ?? paths[i]!.split('/').pop()),
    userName: typeof account.UserName === 'string' ? account.UserName : '',
    enabled: account.Enabled === true,
    role: typeof account.RoleId === 'string' ? account.RoleId : '',
  }));
}

async function factoryStillWorks(target: BmcConnection & Credentials): Promise<boolean> {
  return (await accountsOrRefused(target)) !== 'refused';
}

async function patch(target: BmcConnection & Credentials, path: string, body: Record<string, unknown>): Promise<void> {
  let reply;
  try {
    reply = await bmcRequest(target, 'PATCH', path, body);
  } catch (error) {
    throw new Error(`BMC ${target.host}: PATCH ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (reply.status >= 300) {
    // Some BMCs quote the value they refuse: a password must not reach the log that way.
    const secrets = [target.password, body.Password].filter((s): s is string => typeof s === 'string' && s !== '');
    const said = secrets.reduce((text, secret) => text.split(secret).join('…'), redfishErrorMessage(reply.body));
    throw new Error(
      `BMC ${target.host}: PATCH ${path} (${Object.keys(body).join(', ')}) as ${target.username}: ${reply.status}: ${said}`,
    );
  }
}

function sameCredentials(a: Credentials, b: Credentials): boolean {
  return a.username === b.username && a.password === b.password;
}
