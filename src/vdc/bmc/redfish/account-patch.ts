/**
 * PATCH of a ManagerAccount: UserName, Password, Enabled and RoleId, the
 * properties iDRAC lets one change, in any combination. Parsing is strict —
 * an unknown property or a value the IPMI side could not use is refused with
 * the property's name — and a password never appears in an error.
 */
import { ROLES, passwordProblem, userNameProblem, type AccountChange, type Role } from '../accounts.js';
import type { JsonObject } from './body.js';
import {
  emptyJson,
  propertyUnknown,
  propertyValueFormatError,
  propertyValueNotInList,
  propertyValueTypeError,
} from './errors.js';

export const ACCOUNT_WRITABLE = ['UserName', 'Password', 'Enabled', 'RoleId'] as const;

export function parseAccountPatch(body: JsonObject): AccountChange {
  if (Object.keys(body).length === 0) throw emptyJson(`PATCH needs one of ${ACCOUNT_WRITABLE.join(', ')}`);
  for (const key of Object.keys(body)) {
    if (!(ACCOUNT_WRITABLE as readonly string[]).includes(key)) throw propertyUnknown(key, ACCOUNT_WRITABLE);
  }
  const change: AccountChange = {};
  if (body.UserName !== undefined) {
    const name = body.UserName;
    if (typeof name !== 'string') throw propertyValueTypeError('UserName', name, 'a string');
    const problem = name === '' ? undefined : userNameProblem(name);
    if (problem) throw propertyValueFormatError('UserName', JSON.stringify(name), problem);
    change.userName = name;
  }
  if (body.Password !== undefined) {
    if (typeof body.Password !== 'string') throw propertyValueTypeError('Password', '…', 'a string');
    const problem = passwordProblem(body.Password);
    if (problem) throw propertyValueFormatError('Password', '(not shown)', problem);
    change.password = body.Password;
  }
  if (body.Enabled !== undefined) {
    if (typeof body.Enabled !== 'boolean') throw propertyValueTypeError('Enabled', body.Enabled, 'true or false');
    change.enabled = body.Enabled;
  }
  if (body.RoleId !== undefined) {
    if (typeof body.RoleId !== 'string') throw propertyValueTypeError('RoleId', body.RoleId, 'a string');
    if (!(ROLES as readonly string[]).includes(body.RoleId)) throw propertyValueNotInList('RoleId', body.RoleId, ROLES);
    change.role = body.RoleId as Role;
  }
  return change;
}
