/**
 * The AccountService resources (DMTF AccountService, ManagerAccount, Role) in
 * iDRAC's shape: sixteen account slots under /redfish/v1/AccountService/
 * Accounts/1..16 and the four predefined roles. A password is never shown
 * (Password: null, as the schema asks).
 */
import { ROLES, ROLE_PRIVILEGES, type AccountView, type Role } from '../accounts.js';
import { ENABLED_OK, PATHS, collection, header, link, type Resource } from './resources.js';

export function accountPath(id: string): string {
  return `${PATHS.accounts}/${id}`;
}

export function rolePath(role: Role): string {
  return `${PATHS.roles}/${role}`;
}

export function accountService(): Resource {
  return {
    ...header(PATHS.accountService, '#AccountService.v1_5_0.AccountService', 'AccountService.AccountService'),
    Id: 'AccountService',
    Name: 'Account Service',
    Description: 'BMC User Accounts',
    ServiceEnabled: true,
    MinPasswordLength: 1,
    MaxPasswordLength: 20,
    AccountLockoutThreshold: 0,
    AccountLockoutDuration: 0,
    AccountLockoutCounterResetAfter: 0,
    Accounts: link(PATHS.accounts),
    Roles: link(PATHS.roles),
    Status: ENABLED_OK,
  };
}

export function accountsCollection(accounts: readonly AccountView[]): Resource {
  return collection(
    PATHS.accounts,
    'ManagerAccountCollection',
    'Accounts Collection',
    accounts.map((account) => accountPath(account.id)),
  );
}

export function account(view: AccountView): Resource {
  return {
    ...header(accountPath(view.id), '#ManagerAccount.v1_4_0.ManagerAccount', 'ManagerAccount.ManagerAccount'),
    Id: view.id,
    Name: 'User Account',
    Description: 'User Account',
    UserName: view.userName,
    Password: null,
    Enabled: view.enabled,
    RoleId: view.role,
    Locked: false,
    AccountTypes: ['Redfish', 'IPMI'],
    Links: { Role: link(rolePath(view.role)) },
  };
}

export function rolesCollection(): Resource {
  return collection(PATHS.roles, 'RoleCollection', 'Roles Collection', ROLES.map(rolePath));
}

export function role(id: Role): Resource {
  return {
    ...header(rolePath(id), '#Role.v1_2_2.Role', 'Role.Role'),
    Id: id,
    Name: `${id} User Role`,
    RoleId: id,
    IsPredefined: true,
    AssignedPrivileges: [...ROLE_PRIVILEGES[id]],
  };
}
