/**
 * Opening the embedded store's data dir: create it if needed, refuse foreign or
 * corrupt files and a second process, each with one actionable line.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { StoreUnavailableError } from './errors.js';
import { STORE_FILE, prepareSchema } from './embedded-schema.js';

export interface OpenedDatabase {
  db: Database.Database;
  revision: number;
  compactRevision: number;
  /** Removes the owner file; call after closing the database. */
  release: () => void;
}

const SQLITE_HEADER = Buffer.from('SQLite format 3\0');
const OWNER_FILE = 'owner.json';

export function openEmbeddedDatabase(dataDir: string): OpenedDatabase {
  prepareDataDir(dataDir);
  const file = join(dataDir, STORE_FILE);
  checkHeader(file);
  let db: Database.Database;
  try {
    db = new Database(file, { timeout: 0 });
  } catch (error) {
    throw explain(error, file, dataDir);
  }
  try {
    // EXCLUSIVE before the first WAL access: the process keeps the file lock
    // for its whole life and no shared-memory index is used.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
    db.pragma('synchronous = FULL');
    db.pragma('cache_size = -65536'); // 64 MiB: the whole inventory of a large site stays in memory
    const schema = prepareSchema(db);
    if (schema.kind === 'foreign') {
      throw new StoreUnavailableError(
        `${file} is an SQLite database but not a Yagura store (${schema.detail}): point --data-dir at an empty or Yagura directory`,
      );
    }
    if (schema.kind === 'newer') {
      throw new StoreUnavailableError(
        `${file} was written by a newer Yagura (store schema ${schema.version}): upgrade Yagura before opening it`,
      );
    }
    writeOwner(dataDir);
    return {
      db,
      revision: schema.revision,
      compactRevision: schema.compactRevision,
      release: () => rmSync(join(dataDir, OWNER_FILE), { force: true }),
    };
  } catch (error) {
    db.close();
    throw explain(error, file, dataDir);
  }
}

function prepareDataDir(dataDir: string): void {
  if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) {
    throw new StoreUnavailableError(`data dir ${dataDir} is a file, not a directory: pass --data-dir a directory path`);
  }
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new StoreUnavailableError(
      `cannot create data dir ${dataDir} (${(error as NodeJS.ErrnoException).code}): check the path and its permissions`,
    );
  }
}

/** Refuse a file that is not SQLite before SQLite touches it. */
function checkHeader(file: string): void {
  if (!existsSync(file)) return;
  const header = Buffer.alloc(SQLITE_HEADER.length);
  let read: number;
  try {
    const fd = openSync(file, 'r');
    read = readSync(fd, header, 0, header.length, 0);
    closeSync(fd);
  } catch (error) {
    throw new StoreUnavailableError(`cannot read ${file} (${(error as NodeJS.ErrnoException).code}): check its permissions`);
  }
  if (read === 0) return; // an empty file is a store that was never written
  if (read < header.length || !header.equals(SQLITE_HEADER)) {
    throw new StoreUnavailableError(
      `${file} is not a Yagura store (not an SQLite database): move the file away or point --data-dir at another directory`,
    );
  }
}

function explain(error: unknown, file: string, dataDir: string): Error {
  if (error instanceof StoreUnavailableError) return error;
  const code = (error as { code?: string }).code ?? '';
  const message = (error as Error).message;
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new StoreUnavailableError(
      `data dir ${dataDir} is in use by another process${ownerDescription(dataDir)}: stop it, or give this one another --data-dir`,
    );
  }
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new StoreUnavailableError(`${file} is corrupt (${message}): restore it from a backup or move it away to start empty`);
  }
  if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || code === 'SQLITE_PERM') {
    return new StoreUnavailableError(`cannot open ${file} for writing (${message}): check the permissions of ${dataDir}`);
  }
  return new StoreUnavailableError(`cannot open the store in ${dataDir}: ${message}`);
}

function writeOwner(dataDir: string): void {
  writeFileSync(
    join(dataDir, OWNER_FILE),
    JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }) + '\n',
  );
}

function ownerDescription(dataDir: string): string {
  try {
    const owner = JSON.parse(readFileSync(join(dataDir, OWNER_FILE), 'utf8')) as { pid?: number; host?: string };
    return ` (pid ${owner.pid} on ${owner.host})`;
  } catch {
    return '';
  }
}
