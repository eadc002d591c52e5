/**
 * A client of QEMU's machine protocol (QMP) over a unix socket: one JSON
 * object per line. connect() reads the greeting and leaves capabilities
 * negotiation done, so execute() can be called at once:
 *
 *   const qmp = await QmpClient.connect('/run/yagura/dc1/boot-0.qmp');
 *   qmp.onEvent((event) => event.event === 'SHUTDOWN' && …);
 *   await qmp.execute('system_reset');
 *   qmp.close();
 *
 * Every call has a timeout and every error names the socket and the command.
 */
import { connect as connectSocket, type Socket } from 'node:net';

export interface QmpEvent {
  /** SHUTDOWN, RESET, STOP, RESUME, POWERDOWN, … */
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export interface QmpOptions {
  /** How long to wait for the connection and greeting, and for each command's reply (default 10 s). */
  timeoutMs?: number;
}

/** A command QEMU refused: `class` is QMP's error class (GenericError, CommandNotFound, …). */
export class QmpError extends Error {
  override name = 'QmpError';
  constructor(
    message: string,
    readonly errorClass?: string,
  ) {
    super(message);
  }
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export class QmpClient {
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly eventListeners = new Set<(event: QmpEvent) => void>();
  private closeReason: string | undefined;
  private greeted: ((greeting: unknown) => void) | undefined;
  /** Resolves when the connection is gone, for whatever reason. */
  readonly closed: Promise<void>;

  private constructor(
    private readonly socket: Socket,
    readonly path: string,
    private readonly timeoutMs: number,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.receive(chunk));
    socket.on('error', (error) => (this.closeReason ??= error.message));
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closeReason ??= 'QEMU closed the connection';
        for (const [id, pending] of this.pending) {
          clearTimeout(pending.timer);
          pending.reject(new QmpError(`QMP ${path}: ${pending.command} got no reply: ${this.closeReason}`));
          this.pending.delete(id);
        }
        resolve();
      }),
    );
  }

  /** Connects, reads the greeting and negotiates capabilities. Rejects when the socket is not there or QEMU does not answer. */
  static async connect(path: string, options: QmpOptions = {}): Promise<QmpClient> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const socket = connectSocket(path);
    const client = new QmpClient(socket, path, timeoutMs);
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          client.greeted = () => resolve();
          socket.once('error', (error) => reject(new QmpError(`QMP ${path}: cannot connect: ${error.message}`)));
          socket.once('close', () => reject(new QmpError(`QMP ${path}: closed before the greeting`)));
        }),
        timeoutMs,
        `QMP ${path}: no greeting within ${timeoutMs} ms`,
      );
      await client.execute('qmp_capabilities');
      return client;
    } catch (error) {
      client.close();
      throw error;
    }
  }

  /** Runs a command and returns its `return` value; rejects with a QmpError when QEMU refuses it or does not answer in time. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, options: QmpOptions = {}): Promise<T> {
    if (this.closeReason !== undefined)
      return Promise.reject(new QmpError(`QMP ${this.path}: cannot run ${command}: ${this.closeReason}`));
    const id = this.nextId++;
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new QmpError(`QMP ${this.path}: ${command} got no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { command, resolve: resolve as (value: unknown) => void, reject, timer });
      this.socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
    });
  }

  /** Calls the listener for every event QEMU sends; returns the function that stops it. */
  onEvent(listener: (event: QmpEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Closes the connection (QEMU keeps running); pending commands are rejected. */
  close(): void {
    this.closeReason ??= 'the connection was closed';
    this.socket.destroy();
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    for (let end = this.buffer.indexOf('\n'); end >= 0; end = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, end).trim();
      this.buffer = this.buffer.slice(end + 1);
      if (line !== '') this.handle(line);
    }
  }

  private handle(line: string): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.closeReason = `QEMU sent something that is not JSON: ${line.slice(0, 200)}`;
      this.socket.destroy();
      return;
    }
    if ('QMP' in message) {
      this.greeted?.(message.QMP);
      this.greeted = undefined;
    } else if (typeof message.event === 'string') {
      for (const listener of this.eventListeners) listener(message as unknown as QmpEvent);
    } else if (typeof message.id === 'number') {
      const pending = this.pending.get(message.id);
      if (!pending) return; // the reply to a command that timed out
      this.pending.delete(message.id);
      clearTimeout(pending.timer);
      const error = message.error as { class?: string; desc?: string } | undefined;
      if (error)
        pending.reject(
          new QmpError(`QMP ${this.path}: ${pending.command} failed: ${error.desc ?? 'no reason given'}`, error.class),
        );
      else pending.resolve(message.return);
    }
  }
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new QmpError(message)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
