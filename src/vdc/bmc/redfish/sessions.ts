/**
 * Redfish sessions: a login hands out a token that later requests send as
 * X-Auth-Token. Tokens live only in memory, so restarting the BMC logs every
 * client out, as rebooting an iDRAC does. Only a SHA-256 of each token is kept:
 * lookups by digest do not leak, through timing, how much of a guess was right.
 */
import { createHash, randomBytes } from 'node:crypto';
import { SESSION_TIMEOUT_SECONDS, type SessionView } from './resources.js';

export interface SessionTableOptions {
  /** Sessions unused for this long are gone (ms). */
  idleTimeoutMs?: number;
  /** At most this many sessions at once; a login beyond it is refused. */
  limit?: number;
  now?: () => number;
}

interface Session extends SessionView {
  tokenDigest: string;
  lastUsed: number;
}

export class SessionTable {
  readonly limit: number;
  private readonly idleTimeoutMs: number;
  private readonly now: () => number;
  private readonly byDigest = new Map<string, Session>();
  private nextId = 1;

  constructor(options: SessionTableOptions = {}) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? SESSION_TIMEOUT_SECONDS * 1000;
    this.limit = options.limit ?? 64;
    this.now = options.now ?? Date.now;
  }

  /** A new session for `userName`, or undefined when the table is full. */
  create(userName: string): { session: SessionView; token: string } | undefined {
    this.expire();
    if (this.byDigest.size >= this.limit) return undefined;
    const token = randomBytes(24).toString('hex');
    const session: Session = { id: String(this.nextId++), userName, tokenDigest: digest(token), lastUsed: this.now() };
    this.byDigest.set(session.tokenDigest, session);
    return { session: view(session), token };
  }

  /** The session a token belongs to, marking it as used; undefined for unknown or expired tokens. */
  use(token: string): SessionView | undefined {
    const session = this.byDigest.get(digest(token));
    if (session === undefined) return undefined;
    if (this.expired(session)) {
      this.byDigest.delete(session.tokenDigest);
      return undefined;
    }
    session.lastUsed = this.now();
    return view(session);
  }

  get(id: string): SessionView | undefined {
    this.expire();
    const session = this.find(id);
    return session && view(session);
  }

  /** Ends a session; false when there is none with that id. */
  delete(id: string): boolean {
    const session = this.find(id);
    if (session === undefined) return false;
    this.byDigest.delete(session.tokenDigest);
    return true;
  }

  /** Ends every session of a user (their account changed); returns how many. */
  endFor(userName: string): number {
    let ended = 0;
    for (const session of [...this.byDigest.values()])
      if (session.userName === userName) {
        this.byDigest.delete(session.tokenDigest);
        ended++;
      }
    return ended;
  }

  list(): SessionView[] {
    this.expire();
    return [...this.byDigest.values()].map(view);
  }

  private find(id: string): Session | undefined {
    for (const session of this.byDigest.values()) if (session.id === id) return session;
    return undefined;
  }

  private expired(session: Session): boolean {
    return this.now() - session.lastUsed >= this.idleTimeoutMs;
  }

  private expire(): void {
    for (const session of [...this.byDigest.values()]) if (this.expired(session)) this.byDigest.delete(session.tokenDigest);
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function view(session: Session): SessionView {
  return { id: session.id, userName: session.userName };
}
