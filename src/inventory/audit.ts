/**
 * The audit log: one record per mutation, written in the same transaction as
 * the change it describes (sabakan writes it afterwards, best-effort). Keys
 * are audit/<YYYYMMDD>/<ms>-<random>; a record's revision is its key's create
 * revision, i.e. the revision of the change itself.
 */
import { randomBytes } from 'node:crypto';
import type { KeyValue, TxnOp } from '../store/interface.js';

export const AUDIT_PREFIX = 'audit/';

export type AuditCategory = 'machines' | 'ipam' | 'dhcp' | 'crypts' | 'kernel-params' | 'ignitions' | 'images' | 'assets';

/** Who made a change: the token's name (or the X-Sabakan-User header) and the client address. */
export interface Actor {
  user: string;
  ip: string;
}

export interface AuditRecord {
  ts: string;
  rev: number;
  user: string;
  ip: string;
  host: string;
  category: AuditCategory;
  instance: string;
  action: string;
  detail: string;
}

export interface AuditEntry {
  category: AuditCategory;
  instance: string;
  action: string;
  detail: string;
}

/** YYYYMMDD of a date, in UTC. */
export function auditDay(date: Date): string {
  return date.toISOString().slice(0, 10).replaceAll('-', '');
}

/** The put that records `entry`; goes into the same transaction as the change. */
export function auditOp(entry: AuditEntry, actor: Actor, host: string, now: Date): TxnOp {
  const key = `${AUDIT_PREFIX}${auditDay(now)}/${String(now.getTime()).padStart(13, '0')}-${randomBytes(4).toString('hex')}`;
  const record: Omit<AuditRecord, 'rev'> = { ts: now.toISOString(), user: actor.user, ip: actor.ip, host, ...entry };
  return { type: 'put', key, value: JSON.stringify(record) };
}

export function auditRecord(kv: KeyValue): AuditRecord {
  return { ...(JSON.parse(kv.value) as Omit<AuditRecord, 'rev'>), rev: kv.createRevision };
}

/** The key range of the days [since, until) (YYYYMMDD, until exclusive, as sabakan's /logs). */
export function auditRange(since: string | undefined, until: string | undefined): { key: string; end: string } {
  return { key: `${AUDIT_PREFIX}${since ?? ''}`, end: until ? `${AUDIT_PREFIX}${until}` : `${AUDIT_PREFIX}\xff` };
}

/** The first day that is kept when records are kept for `days` days. */
export function retentionCutoff(now: Date, days: number): string {
  return auditDay(new Date(now.getTime() - days * 86_400_000));
}
