/**
 * A client of serf's RPC protocol (the agent's -rpc-addr, 127.0.0.1:7373 by
 * default), so the state setter reads every member in one round trip instead
 * of running `serf members` per member:
 *
 *   const serf = await SerfClient.connect({ host: '127.0.0.1', port: 7373 });
 *   const members = await serf.members();
 *   await serf.close();
 *
 * The protocol is msgpack over one TCP connection: each request is a header
 * { Command, Seq } and, for commands that take one, a body; each response is
 * a header { Seq, Error } and, for commands that return one, a body. connect()
 * does the handshake (and auth when given a key). The agent answers requests
 * in order, one at a time, so the decoder only has to know, from the command
 * a header answers, whether a body follows (serf-codec.ts). Every call has a
 * timeout; a call that times out closes the connection, because a late answer
 * could no longer be told apart from the next one's.
 */
import { connect as connectSocket, type Socket } from 'node:net';
import { decodeMultiStream, encode } from '@msgpack/msgpack';
import {
  headerFromWire,
  membersFromWire,
  responseHasBody,
  SerfProtocolError,
  serfErrorText,
  type SerfMember,
  type SerfMemberStatus,
  type SerfResponseHeader,
} from './serf-codec.js';

export interface SerfClientOptions {
  host: string;
  port: number;
  /** The agent's rpc_auth key, when it has one. */
  authKey?: string;
  /** How long to wait for the connection and for each answer (default 10 s). */
  timeoutMs?: number;
}

/** serf refused a command: `serfError` is serf's own text. */
export class SerfRpcError extends Error {
  override name = 'SerfRpcError';
  constructor(
    message: string,
    readonly command: string,
    readonly serfError: string,
  ) {
    super(message);
  }
}

/** The only IPC version serf speaks. */
const IPC_VERSION = 1;
const DEFAULT_TIMEOUT_MS = 10_000;

/** What to tell the caller after serf's error text, when serf's own words do not say what to do. */
const HINTS: Record<string, string> = {
  'Authentication required': 'the agent has an RPC auth key (rpc_auth): pass authKey',
  'Invalid authentication token': "authKey is not the agent's rpc_auth key",
};

interface Pending {
  command: string;
  parse: (body: unknown) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class SerfClient {
  private nextSeq = 0;
  private readonly pending = new Map<number, Pending>();
  /** The request whose header has arrived and whose body is the next object. */
  private awaitingBody: { pending: Pending; header: SerfResponseHeader } | undefined;
  private closeReason: string | undefined;
  /** Resolves when the connection is gone, for whatever reason. */
  readonly closed: Promise<void>;

  private constructor(
    private readonly socket: Socket,
    /** host:port, as errors name it. */
    readonly address: string,
    private readonly timeoutMs: number,
  ) {
    socket.on('error', (error) => (this.closeReason ??= `the connection failed: ${error.message}`));
    this.closed = this.read();
  }

  /** Connects, shakes hands and authenticates. Rejects naming the address when no agent answers there. */
  static async connect(options: SerfClientOptions): Promise<SerfClient> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const address = options.host.includes(':') ? `[${options.host}]:${options.port}` : `${options.host}:${options.port}`;
    const socket = await openSocket(options.host, options.port, address, timeoutMs);
    const client = new SerfClient(socket, address, timeoutMs);
    try {
      await client.call('handshake', { Version: IPC_VERSION });
      if (options.authKey !== undefined) await client.call('auth', { AuthKey: options.authKey });
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }

  /** Every member the agent knows, in any state (failed and left ones until serf reaps them). */
  async members(): Promise<SerfMember[]> {
    return this.call('members', undefined, membersFromWire);
  }

  /**
   * The members whose tags, status and name match; each value is a regular
   * expression serf anchors (^…$), and an empty or absent one matches all.
   */
  async membersFiltered(tags: Record<string, string>, status?: SerfMemberStatus | string, name?: string): Promise<SerfMember[]> {
    return this.call('members-filtered', { Tags: tags, Status: status ?? '', Name: name ?? '' }, membersFromWire);
  }

  /**
   * Asks the agent to join the cluster through these gossip addresses
   * (host or host:port). Returns how many it reached; rejects when it
   * reached none. With replay, the agent replays old user events.
   */
  async join(addrs: readonly string[], replay = false): Promise<number> {
    return this.call('join', { Existing: addrs, Replay: replay }, (body) => {
      const num = (body as { Num?: unknown } | null)?.Num;
      if (typeof num !== 'number') throw new SerfProtocolError(`join response: Num is ${String(num)}`);
      return num;
    });
  }

  /** Sets (adds or overwrites) tags on the agent's own node and deletes others; serf gossips the change. */
  async setTags(add: Record<string, string>, remove: readonly string[] = []): Promise<void> {
    await this.call('tags', { Tags: add, DeleteTags: remove });
  }

  /** The agent's stats: sections (agent, runtime, serf, tags, …) of string values. */
  async stats(): Promise<Record<string, Record<string, string>>> {
    return this.call('stats', undefined, (body) => {
      if (typeof body !== 'object' || body === null) throw new SerfProtocolError('stats response is not a map');
      return body as Record<string, Record<string, string>>;
    });
  }

  /** Closes the connection; calls still waiting reject. */
  async close(): Promise<void> {
    this.closeReason ??= 'the client closed the connection';
    this.socket.destroy();
    await this.closed;
  }

  private call<T = undefined>(command: string, body?: unknown, parse: (body: unknown) => T = () => undefined as T): Promise<T> {
    if (this.closeReason !== undefined) {
      return Promise.reject(new Error(`serf RPC ${this.address}: cannot send ${command}: ${this.closeReason}`));
    }
    const seq = this.nextSeq++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`serf RPC ${this.address}: ${command} got no answer within ${this.timeoutMs} ms`));
        this.closeReason ??= `closed after ${command} timed out`;
        this.socket.destroy();
      }, this.timeoutMs);
      this.pending.set(seq, { command, parse, resolve: resolve as (value: unknown) => void, reject, timer });
      const header = encode({ Command: command, Seq: seq });
      this.socket.write(body === undefined ? header : Buffer.concat([header, encode(body)]));
    });
  }

  /** Reads objects until the connection ends, then fails whatever is still waiting. */
  private async read(): Promise<void> {
    try {
      for await (const object of decodeMultiStream(this.socket)) this.receive(object);
    } catch (error) {
      this.closeReason ??=
        error instanceof SerfProtocolError ? error.message : `the connection failed: ${(error as Error).message}`;
    }
    this.closeReason ??= 'the agent closed the connection';
    this.socket.destroy();
    for (const [seq, pending] of this.pending) {
      clearTimeout(pending.timer);
      this.pending.delete(seq);
      const hint =
        pending.command === 'members-filtered' ? ' (serf closes it when a filter is not a valid regular expression)' : '';
      pending.reject(new Error(`serf RPC ${this.address}: ${pending.command} got no answer: ${this.closeReason}${hint}`));
    }
  }

  private receive(object: unknown): void {
    if (this.awaitingBody) {
      const { pending, header } = this.awaitingBody;
      this.awaitingBody = undefined;
      this.settle(pending, header, object);
      return;
    }
    const header = headerFromWire(object);
    const pending = this.pending.get(header.seq);
    if (!pending) throw new SerfProtocolError(`serf answered request ${header.seq}, which is not waiting for an answer`);
    if (responseHasBody(pending.command, header)) this.awaitingBody = { pending, header };
    else this.settle(pending, header, undefined);
  }

  private settle(pending: Pending, header: SerfResponseHeader, body: unknown): void {
    this.pending.delete(header.seq);
    clearTimeout(pending.timer);
    if (header.error !== '') {
      const text = serfErrorText(header.error);
      const hint = HINTS[header.error];
      const message = `serf RPC ${this.address}: ${pending.command} failed: ${text}${hint ? ` (${hint})` : ''}`;
      pending.reject(new SerfRpcError(message, pending.command, header.error));
      return;
    }
    try {
      pending.resolve(pending.parse(body));
    } catch (error) {
      pending.reject(new SerfProtocolError(`serf RPC ${this.address}: ${pending.command}: ${(error as Error).message}`));
    }
  }
}

function openSocket(host: string, port: number, address: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectSocket({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`serf RPC ${address}: no connection within ${timeoutMs} ms: is the agent's -rpc-addr ${address}?`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      const why = error.code === 'ECONNREFUSED' ? 'connection refused' : `cannot connect: ${error.message}`;
      reject(new Error(`serf RPC ${address}: ${why}: is a serf agent running with -rpc-addr ${address}?`));
    });
  });
}
