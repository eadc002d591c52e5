/**
 * A virtual BMC's user accounts: one table that Redfish (Basic auth, logins,
 * AccountService) and IPMI (RAKP) both read, so that changing a password
 * through Redfish changes it for ipmitool too, as on a real iDRAC.
 *
 * The shape is iDRAC's: 16 numbered slots; slot 1 is the reserved anonymous
 * IPMI user and cannot be changed; slot 2 holds the factory user (the
 * topology's `bmc` credentials, placemat's cybozu/cybozu by default); the
 * others are empty (no user name, disabled, role None) until someone fills
 * them. Setting a slot's UserName to "" empties it again, as on iDRAC.
 *
 * Passwords stay in this process's memory only; nothing here logs them. Every
 * credential check compares every slot through fixed-length digests, so how
 * long a check takes says nothing about which part of a guess was right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Privilege as IpmiPrivilege } from './ipmi/protocol.js';

export const ACCOUNT_SLOTS = 16;
export const ANONYMOUS_SLOT = '1';
export const FACTORY_SLOT = '2';

export const ROLES = ['Administrator', 'Operator', 'ReadOnly', 'None'] as const;
export type Role = (typeof ROLES)[number];

/** Redfish's privileges (the Privileges schema's standard ones). */
export type RedfishPrivilege = 'Login' | 'ConfigureManager' | 'ConfigureUsers' | 'ConfigureSelf' | 'ConfigureComponents';

/** What each role may do, as the Redfish specification's predefined roles grant. */
export const ROLE_PRIVILEGES: Record<Role, readonly RedfishPrivilege[]> = {
  Administrator: ['Login', 'ConfigureManager', 'ConfigureUsers', 'ConfigureSelf', 'ConfigureComponents'],
  Operator: ['Login', 'ConfigureSelf', 'ConfigureComponents'],
  ReadOnly: ['Login', 'ConfigureSelf'],
  None: [],
};

/** The highest IPMI session privilege each role may ask for; None cannot open a session. */
export const IPMI_PRIVILEGE: Record<Role, number> = {
  Administrator: IpmiPrivilege.ADMINISTRATOR,
  Operator: IpmiPrivilege.OPERATOR,
  ReadOnly: IpmiPrivilege.USER,
  None: 0,
};

export interface Credentials {
  username: string;
  password: string;
}

/** An account as others may see it: everything but the password. */
export interface AccountView {
  id: string;
  userName: string;
  enabled: boolean;
  role: Role;
}

export interface AccountChange {
  /** "" empties the slot. */
  userName?: string;
  password?: string;
  enabled?: boolean;
  role?: Role;
}

/** Why a change was refused, in words for the person who asked. */
export interface AccountRefusal {
  refused: 'missing' | 'reserved' | 'duplicate-name' | 'incomplete' | 'last-administrator';
  message: string;
}

interface Account extends AccountView {
  password: string;
}

/**
 * How a BMC server is given its accounts: the table its other protocol
 * shares, or just the factory user's credentials for a table of its own.
 */
export type AccountsOption = { accounts: BmcAccounts } | Credentials;

export function accountsFrom(option: AccountsOption): BmcAccounts {
  return 'accounts' in option ? option.accounts : new BmcAccounts(option);
}

/** Why a user name is unusable (IPMI's limit, and no ":" because HTTP Basic splits there), or undefined. */
export function userNameProblem(name: string): string | undefined {
  if (!/^[\x21-\x39\x3b-\x7e]{1,16}$/.test(name))
    return 'a user name is 1–16 printable ASCII characters without spaces or ":" (the IPMI limit)';
  return undefined;
}

/** Why a password is unusable (IPMI's limit), or undefined. The message never repeats the password. */
export function passwordProblem(password: string): string | undefined {
  if (!/^[\x20-\x7e]{1,20}$/.test(password)) return 'a password is 1–20 printable ASCII characters (the IPMI limit)';
  return undefined;
}

export function hasPrivilege(role: Role, privilege: RedfishPrivilege): boolean {
  return ROLE_PRIVILEGES[role].includes(privilege);
}

export class BmcAccounts {
  private readonly slots: Account[];

  /** A fresh table: the factory user, an Administrator, in slot 2. */
  constructor(factory: Credentials) {
    const problem = userNameProblem(factory.username) ?? passwordProblem(factory.password);
    if (problem) throw new Error(`the BMC's factory account is unusable: ${problem}`);
    this.slots = Array.from({ length: ACCOUNT_SLOTS }, (_, i) => emptySlot(String(i + 1)));
    Object.assign(this.slots[Number(FACTORY_SLOT) - 1]!, {
      userName: factory.username,
      password: factory.password,
      enabled: true,
      role: 'Administrator',
    });
  }

  list(): AccountView[] {
    return this.slots.map(view);
  }

  get(id: string): AccountView | undefined {
    const account = this.slot(id);
    return account && view(account);
  }

  /** The enabled account these credentials open, or undefined. */
  authenticate(username: string, password: string): AccountView | undefined {
    let found: Account | undefined;
    for (const account of this.slots) {
      // Both halves of every slot are compared, whatever matched before.
      const nameOk = sameSecret(account.userName, username);
      const passwordOk = sameSecret(account.password, password);
      if (nameOk && passwordOk && usable(account)) found ??= account;
    }
    return found && view(found);
  }

  /** The enabled account with this user name (for a session's owner), or undefined. */
  byName(username: string): AccountView | undefined {
    const account = this.slots.find((a) => usable(a) && a.userName === username);
    return account && view(account);
  }

  /**
   * The enabled account with this user name and its password, for IPMI's
   * RAKP, whose codes are keyed with the password itself. Only the IPMI
   * endpoint asks.
   */
  secretOf(username: string): (AccountView & { password: string }) | undefined {
    const account = this.slots.find((a) => usable(a) && a.userName === username);
    return account && { ...view(account), password: account.password };
  }

  /** Credentials of an enabled Administrator: what the DC's supervisor uses to act through its own BMC. */
  administrator(): Credentials | undefined {
    const account = this.slots.find((a) => usable(a) && a.role === 'Administrator');
    return account && { username: account.userName, password: account.password };
  }

  /**
   * Applies a change to one slot, or says why not; nothing changes on a
   * refusal. The formats are the caller's to check (userNameProblem,
   * passwordProblem); this keeps the table whole: the anonymous slot stays
   * as it is, user names stay unique, an enabled account has a name and a
   * password, and one enabled Administrator remains.
   */
  update(id: string, change: AccountChange): AccountView | AccountRefusal {
    const account = this.slot(id);
    if (account === undefined) return { refused: 'missing', message: `there is no account ${id} (slots 1–${ACCOUNT_SLOTS})` };
    if (id === ANONYMOUS_SLOT)
      return {
        refused: 'reserved',
        message: `account ${ANONYMOUS_SLOT} is the reserved anonymous IPMI user and cannot be changed`,
      };
    const next: Account = change.userName === '' ? emptySlot(id) : { ...account, ...definedOnly(change as Partial<Account>) };
    if (next.userName !== '' && this.slots.some((other) => other.id !== id && other.userName === next.userName))
      return { refused: 'duplicate-name', message: `another account already has the user name ${next.userName}` };
    if (next.enabled && (next.userName === '' || next.password === ''))
      return { refused: 'incomplete', message: `account ${id} needs a UserName and a Password before it can be enabled` };
    const administrators = this.slots.map((a) => (a.id === id ? next : a)).filter((a) => usable(a) && a.role === 'Administrator');
    if (administrators.length === 0)
      return {
        refused: 'last-administrator',
        message: `account ${id} is the last enabled Administrator; enable another Administrator first`,
      };
    Object.assign(account, next);
    return view(account);
  }

  private slot(id: string): Account | undefined {
    return /^[1-9]\d*$/.test(id) ? this.slots[Number(id) - 1] : undefined;
  }
}

function emptySlot(id: string): Account {
  return { id, userName: '', password: '', enabled: false, role: 'None' };
}

function usable(account: Account): boolean {
  return account.enabled && account.userName !== '' && account.password !== '' && account.role !== 'None';
}

function view(account: Account): AccountView {
  return { id: account.id, userName: account.userName, enabled: account.enabled, role: account.role };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function sameSecret(expected: string, given: string): boolean {
  // Digests have one length whatever was typed, which timingSafeEqual needs.
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}
