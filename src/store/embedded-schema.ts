/**
 * On-disk layout of the embedded store (one SQLite file in WAL mode):
 * - meta: the format marker, schema version, current and compact revision;
 * - kv: the current value of every live key;
 * - history: one row per change (put or tombstone) — the log that watches
 *   replay and that reads at a past revision consult, trimmed by compaction;
 * - leases: TTL and wall-clock expiry, so that TTLs survive restarts.
 */
import type Database from 'better-sqlite3';

export const STORE_FORMAT = 'yagura-store';
export const SCHEMA_VERSION = 1;
export const STORE_FILE = 'store.db';

const SCHEMA = `
CREATE TABLE meta (name TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE kv (
  key BLOB PRIMARY KEY,
  value TEXT NOT NULL,
  create_rev INTEGER NOT NULL,
  mod_rev INTEGER NOT NULL,
  version INTEGER NOT NULL,
  lease INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX kv_by_lease ON kv (lease) WHERE lease != 0;
CREATE TABLE history (
  rev INTEGER NOT NULL,
  sub INTEGER NOT NULL,
  key BLOB NOT NULL,
  deleted INTEGER NOT NULL,
  value TEXT NOT NULL,
  create_rev INTEGER NOT NULL,
  version INTEGER NOT NULL,
  lease INTEGER NOT NULL,
  PRIMARY KEY (rev, sub)
) WITHOUT ROWID;
CREATE UNIQUE INDEX history_by_key ON history (key, rev);
CREATE TABLE leases (id INTEGER PRIMARY KEY, ttl INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX leases_by_expiry ON leases (expires_at);
`;

export type SchemaCheck =
  | { kind: 'ok'; revision: number; compactRevision: number }
  | { kind: 'foreign'; detail: string }
  | { kind: 'newer'; version: number };

/** Creates the schema in an empty database, or checks that an existing one is ours. */
export function prepareSchema(db: Database.Database): SchemaCheck {
  const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[];
  if (tables.length === 0) {
    db.transaction(() => {
      db.exec(SCHEMA);
      const set = db.prepare('INSERT INTO meta (name, value) VALUES (?, ?)');
      set.run('format', STORE_FORMAT);
      set.run('schema_version', SCHEMA_VERSION);
      set.run('revision', 1);
      set.run('compact_revision', 0);
    })();
    return { kind: 'ok', revision: 1, compactRevision: 0 };
  }
  if (!tables.includes('meta')) return { kind: 'foreign', detail: `it holds the tables ${tables.slice(0, 5).join(', ')}` };
  const meta = new Map(
    (db.prepare('SELECT name, value FROM meta').all() as { name: string; value: unknown }[]).map((r) => [r.name, r.value]),
  );
  if (meta.get('format') !== STORE_FORMAT) return { kind: 'foreign', detail: 'its meta table has no Yagura format marker' };
  const version = Number(meta.get('schema_version'));
  if (version > SCHEMA_VERSION) return { kind: 'newer', version };
  return { kind: 'ok', revision: Number(meta.get('revision')), compactRevision: Number(meta.get('compact_revision')) };
}
