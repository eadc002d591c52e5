/**
 * What each Redfish resource does: the route table of one virtual BMC. Reads
 * build resources from the machine's current state; writes parse and decide
 * with the pure helpers, then call the ManagedMachine. The parts
 * (hardware-routes.ts) and the accounts (account-routes.ts) have their own tables.
 */
import { hasPrivilege } from '../accounts.js';
import { accountRoutes } from './account-routes.js';
import { nextBootOverride, parseSystemPatch } from './boot-override.js';
import { parseJsonObject } from './body.js';
import { machineView, type ServiceContext } from './context.js';
import {
  createFailedMissingProperty,
  insufficientPrivilege,
  loginRefused,
  propertyUnknown,
  propertyValueTypeError,
  resourceMissing,
  sessionLimitReached,
} from './errors.js';
import { hardwareRoutes } from './hardware-routes.js';
import { powerOperationFor, parseResetType } from './reset.js';
import {
  CHASSIS_ID,
  CHASSIS_RESET_TYPES,
  PATHS,
  SYSTEM_ID,
  SYSTEM_RESET_TYPES,
  chassis,
  chassisCollection,
  computerSystem,
  managersCollection,
  manager,
  serviceRoot,
  session,
  sessionPath,
  sessionService,
  sessionsCollection,
  systemsCollection,
  versions,
  type ResetType,
} from './resources.js';
import type { RedfishReply, RedfishRequest, Route } from './router.js';

export function redfishRoutes(context: ServiceContext): Route[] {
  const { machine, sessions } = context;
  const view = () => machineView(context);
  const ok = (body: unknown): RedfishReply => ({ status: 200, body });

  return [
    { path: '/redfish', open: ['GET'], handlers: { GET: () => ok(versions()) } },
    { path: PATHS.root, open: ['GET'], handlers: { GET: () => ok(serviceRoot()) } },
    { path: PATHS.systems, handlers: { GET: () => ok(systemsCollection()) } },
    {
      path: PATHS.system,
      handlers: {
        GET: () => ok(computerSystem(view())),
        PATCH: (request) => {
          const patch = parseSystemPatch(parseJsonObject(request.body, `PATCH ${PATHS.system}`));
          const next = nextBootOverride(machine.bootOverride(), patch);
          machine.setBootOverride(next);
          context.log?.info({ user: request.principal?.userName, bootOverride: next ?? null }, 'boot override set');
          return ok(computerSystem(view()));
        },
      },
    },
    {
      path: PATHS.systemReset,
      handlers: { POST: (request) => reset(context, request, 'ComputerSystem.Reset', SYSTEM_ID, SYSTEM_RESET_TYPES) },
    },
    { path: PATHS.chassisCollection, handlers: { GET: () => ok(chassisCollection()) } },
    { path: PATHS.chassis, handlers: { GET: () => ok(chassis(view())) } },
    {
      path: PATHS.chassisReset,
      handlers: { POST: (request) => reset(context, request, 'Chassis.Reset', CHASSIS_ID, CHASSIS_RESET_TYPES) },
    },
    { path: PATHS.managers, handlers: { GET: () => ok(managersCollection()) } },
    { path: PATHS.manager, handlers: { GET: () => ok(manager(context.firmwareVersion)) } },
    { path: PATHS.sessionService, handlers: { GET: () => ok(sessionService()) } },
    {
      path: PATHS.sessions,
      open: ['POST'],
      handlers: {
        GET: () => ok(sessionsCollection(sessions.list())),
        POST: (request) => login(context, request),
      },
    },
    {
      path: `${PATHS.sessions}/:id`,
      // Anyone may end their own session; ending another's needs ConfigureManager (checked below).
      privileges: { DELETE: 'Login' },
      handlers: {
        GET: (request) => {
          const found = sessions.get(request.params.id!);
          if (found === undefined) throw resourceMissing(request.path);
          return ok(session(found));
        },
        DELETE: (request) => {
          const target = sessions.get(request.params.id!);
          if (target === undefined) throw resourceMissing(request.path);
          const own = target.userName === request.principal?.userName;
          if (!own && !hasPrivilege(request.principal!.role, 'ConfigureManager')) throw insufficientPrivilege('ConfigureManager');
          sessions.delete(target.id);
          context.log?.info({ user: request.principal?.userName, session: request.params.id }, 'session ended');
          return { status: 204 };
        },
      },
    },
    ...hardwareRoutes(context),
    ...accountRoutes(context),
  ];
}

async function reset(
  context: ServiceContext,
  request: RedfishRequest,
  action: string,
  resourceId: string,
  allowed: readonly ResetType[],
): Promise<RedfishReply> {
  const resetType = parseResetType(parseJsonObject(request.body, action), action, allowed);
  const operation = powerOperationFor(resetType, context.machine.power(), resourceId);
  context.log?.info({ user: request.principal?.userName, action, resetType }, 'power action');
  await context.machine[operation]();
  return { status: 204 };
}

function login(context: ServiceContext, request: RedfishRequest): RedfishReply {
  const body = parseJsonObject(request.body, 'a login (POST SessionService/Sessions)');
  for (const key of Object.keys(body)) {
    if (key !== 'UserName' && key !== 'Password') throw propertyUnknown(key, ['UserName', 'Password']);
  }
  for (const key of ['UserName', 'Password'] as const) {
    if (body[key] === undefined) throw createFailedMissingProperty(key);
    // The password's value never goes into the error: it may be a real one in the wrong field.
    if (typeof body[key] !== 'string') throw propertyValueTypeError(key, key === 'Password' ? '…' : body[key], 'a string');
  }
  const userName = body.UserName as string;
  if (context.accounts.authenticate(userName, body.Password as string) === undefined) {
    context.log?.warn({ remote: request.remote }, 'login refused: wrong user name or password');
    throw loginRefused();
  }
  const created = context.sessions.create(userName);
  if (created === undefined) throw sessionLimitReached(context.sessions.limit);
  context.log?.info({ user: userName, session: created.session.id }, 'session started');
  return {
    status: 201,
    body: session(created.session),
    headers: { 'X-Auth-Token': created.token, Location: sessionPath(created.session.id) },
  };
}
