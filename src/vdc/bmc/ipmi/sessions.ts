/**
 * The BMC's RMCP+ sessions, from Open Session Request to Close Session or
 * timeout. A session is "opened" after Open Session, "challenged" after RAKP
 * 1/2, and "active" — able to carry commands — only after a RAKP 3 that
 * proves the password. Sessions idle for 60 s are dropped; at most 32 exist.
 * When a new one needs room, a half-open handshake goes first (those need no
 * password, so a flood of them must not push out real sessions), then the
 * active session idle longest.
 *
 * Time and randomness come in from the caller, so tests can drive them.
 */
import type { CipherSuite } from './cipher-suites.js';
import type { Privilege } from './protocol.js';
import type { RakpExchange, SessionKeys } from './rakp-keys.js';
import type { SequenceWindow } from './sequence-window.js';

export const SESSION_IDLE_TIMEOUT_MS = 60_000;
export const MAX_SESSIONS = 32;

interface SessionBase {
  /** Ours (SIDc): consoles address in-session packets to it. */
  readonly bmcSessionId: number;
  /** The console's (SIDm): we address our packets to it. */
  readonly consoleSessionId: number;
  readonly suite: CipherSuite;
  /** The highest privilege this session may ever reach, from Open Session and RAKP 1. */
  maxPrivilege: Privilege;
  lastActivity: number;
}

export interface OpenedSession extends SessionBase {
  state: 'opened';
}

export interface ChallengedSession extends SessionBase {
  state: 'challenged';
  exchange: RakpExchange;
  /** The named user's key (their password), as it was at RAKP 1. */
  kuid: Buffer;
}

export interface ActiveSession extends SessionBase {
  state: 'active';
  exchange: RakpExchange;
  keys: SessionKeys;
  privilege: Privilege;
  inbound: SequenceWindow;
  /** The last sequence number we sent; the next is one more, skipping 0. */
  outboundSequence: number;
  /** The last request and its (possibly pending) response, so that a console's retry does not run it twice. */
  lastAnswer?: { request: Buffer; response: Promise<Buffer>; at: number };
}

export type Session = OpenedSession | ChallengedSession | ActiveSession;

export interface SessionTableOptions {
  capacity?: number;
  idleTimeoutMs?: number;
  /** Random 32-bit session IDs. */
  randomId: () => number;
}

export class SessionTable {
  private readonly sessions = new Map<number, Session>();
  private readonly capacity: number;
  private readonly idleTimeoutMs: number;

  constructor(private readonly options: SessionTableOptions) {
    this.capacity = options.capacity ?? MAX_SESSIONS;
    this.idleTimeoutMs = options.idleTimeoutMs ?? SESSION_IDLE_TIMEOUT_MS;
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Starts a session after a valid Open Session Request; returns it and the session it pushed out, if any. */
  open(
    fields: Pick<SessionBase, 'consoleSessionId' | 'suite' | 'maxPrivilege'>,
    now: number,
  ): { session: OpenedSession; evicted?: Session } {
    this.expire(now);
    const evicted = this.sessions.size >= this.capacity ? this.evictOne() : undefined;
    const session: OpenedSession = { ...fields, bmcSessionId: this.freshId(), state: 'opened', lastActivity: now };
    this.sessions.set(session.bmcSessionId, session);
    return { session, evicted };
  }

  /** The live session with this ID; an expired one is removed and not returned. */
  get(bmcSessionId: number, now: number): Session | undefined {
    const session = this.sessions.get(bmcSessionId);
    if (!session) return undefined;
    if (now - session.lastActivity >= this.idleTimeoutMs) {
      this.sessions.delete(bmcSessionId);
      return undefined;
    }
    return session;
  }

  /** Moves a session to its next state (the caller builds it from the current one). */
  replace(session: Session): void {
    if (this.sessions.has(session.bmcSessionId)) this.sessions.set(session.bmcSessionId, session);
  }

  remove(bmcSessionId: number): boolean {
    return this.sessions.delete(bmcSessionId);
  }

  /** Removes idle sessions; returns how many. */
  expire(now: number): number {
    let removed = 0;
    for (const [id, session] of this.sessions)
      if (now - session.lastActivity >= this.idleTimeoutMs) {
        this.sessions.delete(id);
        removed++;
      }
    return removed;
  }

  list(): Session[] {
    return [...this.sessions.values()];
  }

  private evictOne(): Session | undefined {
    const idleFirst = [...this.sessions.values()].sort(
      (a, b) => Number(a.state === 'active') - Number(b.state === 'active') || a.lastActivity - b.lastActivity,
    );
    const victim = idleFirst[0];
    if (victim) this.sessions.delete(victim.bmcSessionId);
    return victim;
  }

  private freshId(): number {
    for (;;) {
      const id = this.options.randomId() >>> 0;
      if (id !== 0 && !this.sessions.has(id)) return id;
    }
  }
}
