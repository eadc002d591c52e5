/**
 * The AccountService routes: anyone logged in may read the accounts (never a
 * password); only an Administrator (ConfigureUsers) may change one. A change
 * to an account's name, password, role or enabled state ends its Redfish
 * sessions, so the old credentials stop working at once, tokens included.
 */
import { ROLES, type AccountRefusal, type AccountView, type Role } from '../accounts.js';
import { parseAccountPatch } from './account-patch.js';
import { account, accountService, accountsCollection, role, rolesCollection } from './account-resources.js';
import { parseJsonObject } from './body.js';
import type { ServiceContext } from './context.js';
import { accountNotModified, resourceAlreadyExists, resourceMissing, type RedfishError } from './errors.js';
import { PATHS } from './resources.js';
import type { RedfishReply, RedfishRequest, Route } from './router.js';

export function accountRoutes(context: ServiceContext): Route[] {
  const { accounts } = context;
  const ok = (body: unknown): RedfishReply => ({ status: 200, body });
  const found = (request: RedfishRequest): AccountView => {
    const view = accounts.get(request.params.id!);
    if (view === undefined) throw resourceMissing(request.path);
    return view;
  };
  return [
    { path: PATHS.accountService, handlers: { GET: () => ok(accountService()) } },
    { path: PATHS.accounts, handlers: { GET: () => ok(accountsCollection(accounts.list())) } },
    {
      path: `${PATHS.accounts}/:id`,
      privileges: { PATCH: 'ConfigureUsers' },
      handlers: {
        GET: (request) => ok(account(found(request))),
        PATCH: (request) => ok(account(changeAccount(context, request, found(request)))),
      },
    },
    { path: PATHS.roles, handlers: { GET: () => ok(rolesCollection()) } },
    {
      path: `${PATHS.roles}/:role`,
      handlers: {
        GET: (request) => {
          const id = request.params.role!;
          if (!(ROLES as readonly string[]).includes(id)) throw resourceMissing(request.path);
          return ok(role(id as Role));
        },
      },
    },
  ];
}

function changeAccount(context: ServiceContext, request: RedfishRequest, before: AccountView): AccountView {
  const change = parseAccountPatch(parseJsonObject(request.body, `PATCH ${request.path}`));
  const after = context.accounts.update(before.id, change);
  if ('refused' in after) throw refusal(after, request.path, change.userName);
  const loggedOut =
    change.password !== undefined || after.userName !== before.userName || after.role !== before.role || !after.enabled
      ? context.sessions.endFor(before.userName)
      : 0;
  context.log?.info(
    { user: request.principal?.userName, account: before.id, changed: Object.keys(change), sessionsEnded: loggedOut },
    'BMC account changed',
  );
  return after;
}

function refusal(refused: AccountRefusal, path: string, userName: string | undefined): RedfishError {
  switch (refused.refused) {
    case 'missing':
      return resourceMissing(path);
    case 'duplicate-name':
      return resourceAlreadyExists('ManagerAccount', 'UserName', userName ?? '');
    default:
      return accountNotModified(refused.message);
  }
}
