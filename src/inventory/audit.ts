/**
 * The audit log: one record per mutation, written in the same transaction as
 * the change it describes (sabakan writes it afterwards, best-effort). Keys
 * are audit/<YYYYMMDD>/<ms>-<random>; a record's revision is its key's create
 * revision, i.e. the revision of the change itself.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { type Codec, jsonCodec } from '../store/codec.js';
import type { KeyValue, TxnOp } from '../store/interface.js';
import { rfc3339 } from './model.js';

export const AUDIT_PREFIX = 'audit/';

export const AUDIT_CATEGORIES = [
  'machines',
  'ipam',
  'dhcp',
  'crypts',
  'kernel-params',
  'ignitions',
  'images',
  'assets',
  'bmc',
  'repairs',
] as const;
export type AuditCategory = (typeof AUDIT_CATEGORIES)[number];

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

/** A record as stored: everything but `rev`, which is its key's create revision. */
const storedRecord = jsonCodec(
  'audit record',
  z.strictObject({
    ts: rfc3339,
    user: z.string(),
    ip: z.string(),
    host: z.string(),
    category: z.enum(AUDIT_CATEGORIES),
    instance: z.string(),
    action: z.string(),
    detail: z.string(),
  }),
);

/** An audit record at audit/<day>/<ms>-<random>, with its revision. */
export const auditCodec: Codec<AuditRecord> = {
  what: storedRecord.what,
  decode: (kv) => ({ ...storedRecord.decode(kv), rev: kv.createRevision }),
  encode: (key, { rev: _rev, ...record }) => storedRecord.encode(key, record),
};

/** YYYYMMDD of a date, in UTC. */
export function auditDay(date: Date): string {
  return date.toISOString().slice(0, 10).replaceAll('-', '');
}

/** Builds the audit put of a change made now by `actor` on this host. */
export type Auditor = (actor: Actor, entry: AuditEntry) => TxnOp;

export function auditor(host: string, now: () => Date): Auditor {
  return (actor, entry) => auditOp(entry, actor, host, now());
}

/** The put that records `entry`; goes into the same transaction as the change. */
export function auditOp(entry: AuditEntry, actor: Actor, host: string, now: Date): TxnOp {
  const key = `${AUDIT_PREFIX}${auditDay(now)}/${String(now.getTime()).padStart(13, '0')}-${randomBytes(4).toString('hex')}`;
  const { category, instance, action, detail } = entry;
  const record = { ts: now.toISOString(), user: actor.user, ip: actor.ip, host, category, instance, action, detail };
  return { type: 'put', key, value: storedRecord.encode(key, record) };
}

/** The record at `kv`, checked; CorruptDocumentError naming the key when it is not one. */
export function auditRecord(kv: KeyValue): AuditRecord {
  return auditCodec.decode(kv);
}

/** The key range of the days [since, until) (YYYYMMDD, until exclusive, as sabakan's /logs). */
export function auditRange(since: string | undefined, until: string | undefined): { key: string; end: string } {
  return { key: `${AUDIT_PREFIX}${since ?? ''}`, end: until ? `${AUDIT_PREFIX}${until}` : `${AUDIT_PREFIX}\xff` };
}

/** The first day that is kept when records are kept for `days` days. */
export function retentionCutoff(now: Date, days: number): string {
  return auditDay(new Date(now.getTime() - days * 86_400_000));
}
