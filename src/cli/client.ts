/**
 * How the client commands talk to a running `yagura serve`: where it is
 * (--server / YAGURA_SERVER), which CA to trust for https (--cacert /
 * YAGURA_CACERT), who is asking (YAGURA_TOKEN as a bearer token, the local
 * user as X-Sabakan-User for the audit log), and one clear line for every way
 * a request can fail.
 */
import { readFileSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { userInfo } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { UserError } from '../lib/errors.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:10080';
const TIMEOUT_MS = 60_000;

export interface ServerFlags {
  server: URL;
  cacert?: string;
}

/** The server's answer to a request that succeeded (2xx). */
export interface Reply {
  status: number;
  contentType: string;
  text: string;
}

/** A non-2xx answer: the server's `{ error, field? }`, printed as "error (field: X)". */
export class ApiError extends UserError {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly error: string,
    readonly field?: string,
  ) {
    super(field ? `${error} (field: ${field})` : error);
  }
}

export type Body = { json: unknown } | { text: string };

/** No answer from the server: a connection, TLS or timeout problem (`code` says which). */
class Unreachable extends UserError {
  override name = 'Unreachable';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a client sees when the server closes the connection while a body is still being sent. */
const BROKEN_UPLOAD = new Set(['EPIPE', 'ECONNRESET']);
const NO_EARLY_ANSWER = 'YAGURA_NO_EARLY_ANSWER';

/**
 * A body streamed from disk rather than held in memory: its exact length is
 * known up front and sent as Content-Length. `body` may throw a UserError
 * (e.g. a file changed while being read); the request is then abandoned and
 * that error reported.
 */
export interface Upload {
  contentType: string;
  length: number;
  body: AsyncIterable<Buffer>;
  headers?: Record<string, string>;
  /** What is being sent, for the progress line, e.g. "image 1.0.0". */
  label: string;
}

export class ServerClient {
  private constructor(
    readonly base: URL,
    private readonly ca: Buffer | undefined,
    private readonly headers: Record<string, string>,
  ) {}

  static from(flags: ServerFlags): ServerClient {
    const headers: Record<string, string> = { 'x-sabakan-user': localUser() };
    const token = process.env.YAGURA_TOKEN?.trim();
    if (token) headers.authorization = `Bearer ${token}`;
    return new ServerClient(flags.server, flags.cacert ? readCa(flags.cacert) : undefined, headers);
  }

  async getJson<T>(path: string, query?: Record<string, string>): Promise<T> {
    return this.requestJson<T>('GET', path, undefined, query);
  }

  async requestJson<T>(method: string, path: string, body?: Body, query?: Record<string, string>): Promise<T> {
    const reply = await this.request(method, path, body, query);
    return parseJson<T>(reply.text, `${method} ${path}`);
  }

  async getText(path: string, query?: Record<string, string>): Promise<string> {
    return (await this.request('GET', path, undefined, query)).text;
  }

  async request(method: string, path: string, body?: Body, query?: Record<string, string>): Promise<Reply> {
    const url = this.urlOf(path, query);
    const headers: Record<string, string> = { ...this.headers, accept: 'application/json, text/plain;q=0.9' };
    let payload: Buffer | undefined;
    if (body !== undefined) {
      const json = 'json' in body;
      payload = Buffer.from(json ? JSON.stringify(body.json) : body.text);
      headers['content-type'] = json ? 'application/json' : 'text/plain; charset=utf-8';
      headers['content-length'] = String(payload.length);
    }
    const reply = await this.send(url, method, headers, (request) => request.end(payload));
    if (reply.status >= 200 && reply.status < 300) return reply;
    throw this.errorOf(reply);
  }

  /** Streams `upload` as the body of a PUT/POST, with progress on stderr (see Progress). */
  async upload(method: string, path: string, upload: Upload): Promise<Reply> {
    const url = this.urlOf(path, undefined);
    const headers: Record<string, string> = {
      ...this.headers,
      ...upload.headers,
      accept: 'application/json, text/plain;q=0.9',
      'content-type': upload.contentType,
      'content-length': String(upload.length),
    };
    const progress = new Progress(`uploading ${upload.label}`, upload.length, { summary: true });
    let ok = false;
    try {
      let reply: Reply;
      try {
        reply = await this.send(url, method, headers, (request, fail) => {
          const source = Readable.from(upload.body, { objectMode: false });
          source.on('data', (chunk: Buffer) => progress.advance(chunk.length));
          source.on('end', () => progress.waiting('all sent, waiting for the server'));
          // Before pipeline's own listener, which aborts the request: the source's error is the one to report.
          source.once('error', (error) =>
            fail(error instanceof UserError ? error : new UserError(`reading ${upload.label} failed: ${error.message}`)),
          );
          // The server's errors arrive as its answer or as the request's 'error'.
          pipeline(source, request).catch(() => {});
        });
      } catch (error) {
        if (!(error instanceof Unreachable) || !BROKEN_UPLOAD.has(error.code)) throw error;
        progress.end(false);
        reply = await this.earlyAnswer(url, method, headers, error);
      }
      ok = reply.status >= 200 && reply.status < 300;
      if (ok) return reply;
      throw this.errorOf(reply);
    } finally {
      progress.end(ok);
    }
  }

  /**
   * A server that refuses an upload before reading it (bad name, no
   * permission, too large) answers and closes the connection; when that races
   * with a large body still being written, the client sees only a broken pipe
   * and the answer is lost. Asking again with the same headers and no body
   * gets that answer; a server that instead waits for the body had no early
   * objection, and the connection is given up after a moment.
   */
  private async earlyAnswer(url: URL, method: string, headers: Record<string, string>, broken: Unreachable): Promise<Reply> {
    try {
      return await this.send(url, method, headers, (request) => {
        request.flushHeaders();
        const timer = setTimeout(
          () => request.destroy(Object.assign(new Error('no early answer'), { code: NO_EARLY_ANSWER })),
          3000,
        );
        request.once('close', () => clearTimeout(timer));
      });
    } catch (error) {
      if (!(error instanceof Unreachable) || error.code !== NO_EARLY_ANSWER) throw error;
      throw new UserError(
        `the Yagura server at ${this.where()} closed the connection during the upload (${broken.code}) without saying why: see its log`,
      );
    }
  }

  private urlOf(path: string, query: Record<string, string> | undefined): URL {
    // Keep a path prefix of --server (a server behind a reverse proxy).
    const url = new URL(this.base.pathname.replace(/\/+$/, '') + path, this.base);
    for (const [name, value] of Object.entries(query ?? {})) url.searchParams.set(name, value);
    return url;
  }

  private send(
    url: URL,
    method: string,
    headers: Record<string, string>,
    writeBody: (request: http.ClientRequest, fail: (error: Error) => void) => void,
  ): Promise<Reply> {
    const secure = url.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const options: https.RequestOptions = { method, headers, agent: false, ...(secure && this.ca ? { ca: this.ca } : {}) };
      // A server may answer (say, 400 or 413) before it has read the whole body and then close the
      // connection: once its answer has begun, that answer is the outcome, not the broken upload.
      let answered = false;
      const request = (secure ? https : http).request(url, options, (response) => {
        answered = true;
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (error) => reject(this.unreachable(error)));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            contentType: response.headers['content-type'] ?? '',
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      });
      request.setTimeout(TIMEOUT_MS, () => request.destroy(Object.assign(new Error('timed out'), { code: 'YAGURA_TIMEOUT' })));
      request.on('error', (error) => {
        if (!answered) reject(this.unreachable(error));
      });
      writeBody(request, reject);
    });
  }

  private errorOf(reply: Reply): ApiError {
    let body: { error?: unknown; field?: unknown } | undefined;
    try {
      body = JSON.parse(reply.text) as typeof body;
    } catch {
      // not the server's JSON error, e.g. a proxy's page
    }
    const error =
      typeof body?.error === 'string'
        ? body.error
        : `HTTP ${reply.status} from ${this.base.origin}: ${reply.text.trim().split('\n')[0]?.slice(0, 200) || '(no body)'}`;
    const field = typeof body?.field === 'string' ? body.field : undefined;
    if ((reply.status === 401 || reply.status === 403) && !this.headers.authorization)
      return new ApiError(reply.status, `${error} (set YAGURA_TOKEN to a token of the server's --token-file)`, field);
    return new ApiError(reply.status, error, field);
  }

  private where(): string {
    return this.base.href.replace(/\/$/, '');
  }

  private unreachable(error: Error): Unreachable {
    const code = (error as NodeJS.ErrnoException).code ?? error.message;
    const where = this.where();
    if (code === 'YAGURA_TIMEOUT')
      return new Unreachable(code, `the Yagura server at ${where} did not answer within ${TIMEOUT_MS / 1000} s`);
    if (UNTRUSTED_CA.has(code))
      return new Unreachable(
        code,
        `cannot trust the certificate of the Yagura server at ${where} (${code}): pass the CA that signed it with --cacert FILE or YAGURA_CACERT`,
      );
    if (code === 'CERT_HAS_EXPIRED' || code === 'ERR_TLS_CERT_ALTNAME_INVALID')
      return new Unreachable(code, `the Yagura server at ${where} presented a certificate that is not valid for it (${code})`);
    return new Unreachable(
      code,
      `cannot reach the Yagura server at ${where} (${code}): start yagura serve or set --server / YAGURA_SERVER`,
    );
  }
}

/**
 * Gives a verb the connection flags and makes its usage errors exit 2 like the
 * top-level ones (subcommands added with addCommand do not inherit that).
 */
export function serverCommand(command: Command): Command {
  return command
    .addOption(
      new Option('--server <url>', 'URL of the Yagura server (http:// or https://)')
        .default(new URL(DEFAULT_SERVER), DEFAULT_SERVER)
        .env('YAGURA_SERVER')
        .argParser(parseServerUrl),
    )
    .addOption(
      new Option('--cacert <file>', 'CA certificate (PEM) to trust for an https:// --server signed by a private CA').env(
        'YAGURA_CACERT',
      ),
    )
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
}

/** A command group (`yagura <group> <verb>`) whose verbs all talk to the server. */
export function commandGroup(name: string, description: string, verbs: Command[]): Command {
  const group = new Command(name).description(description);
  for (const verb of verbs) group.addCommand(serverCommand(verb));
  return group;
}

function parseServerUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError('must be a URL such as http://127.0.0.1:10080 or https://boot-0:10443');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError(`must be an http:// or https:// URL, not ${url.protocol}`);
  return url;
}

function readCa(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new UserError(`--cacert ${file}: cannot read it (${(error as NodeJS.ErrnoException).code})`);
  }
}

/** The audit log names this user when no token is used; some containers have no name for their uid. */
function localUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? '';
  }
}

export function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new UserError(`the server's answer to ${what} is not JSON: ${text.slice(0, 200)}`);
  }
}

/** A local file opened for an upload: its size and mtime taken once, up front, so its length can be declared. */
export interface LocalFile {
  handle: FileHandle;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  /** How errors name it, e.g. "--kernel ./vmlinuz". */
  what: string;
}

export async function openLocalFile(path: string, what = path): Promise<LocalFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new UserError(`${what}: cannot read it (${(error as NodeJS.ErrnoException).code})`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new UserError(`${what}: not a regular file`);
    return { handle, size: stat.size, mtime: Math.floor(stat.mtimeMs / 1000), what };
  } catch (error) {
    await handle.close().catch(() => {});
    throw error;
  }
}

/**
 * The file's bytes from the start, exactly the size declared at opening: a
 * file that shrinks or grows meanwhile is an error, never a silently different upload.
 */
export async function* readWhole(file: LocalFile): AsyncGenerator<Buffer> {
  let read = 0;
  let now: number;
  try {
    if (file.size > 0)
      for await (const chunk of file.handle.createReadStream({ start: 0, end: file.size - 1, autoClose: false })) {
        read += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
    now = (await file.handle.stat()).size;
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`${file.what}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (read !== file.size || now !== file.size)
    throw new UserError(`${file.what}: changed size while being read (${file.size} bytes, now ${now}): nothing was stored`);
}

/**
 * Progress of a long job on stderr. On a terminal, a line redrawn in place
 * once the job has run for half a second (so quick jobs print nothing live);
 * with `summary`, one closing line when the job succeeds, on a terminal or not.
 */
export class Progress {
  private done = 0;
  private readonly started = Date.now();
  private lastDraw = 0;
  private drawn = false;
  private readonly live = process.stderr.isTTY === true;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly options: { summary?: boolean } = {},
  ) {}

  advance(bytes: number): void {
    this.done += bytes;
    if (!this.live) return;
    const now = Date.now();
    if (now - this.started < LIVE_AFTER_MS || now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    this.drawn = true;
    const percent = this.total > 0 ? Math.floor((100 * this.done) / this.total) : 100;
    const rate = this.done / Math.max(0.001, (now - this.started) / 1000);
    process.stderr.write(
      `\r${this.label}: ${percent}% (${formatBytes(this.done)} of ${formatBytes(this.total)}, ${formatBytes(rate)}/s)\x1b[K`,
    );
  }

  /** Replaces the live line, if one is shown, by a note (e.g. the job waits for something else now). */
  waiting(note: string): void {
    if (this.drawn) process.stderr.write(`\r${this.label}: ${note}\x1b[K`);
  }

  /** Clears the live line; prints the summary if the job succeeded and one was asked for. */
  end(ok: boolean): void {
    if (this.drawn) process.stderr.write('\r\x1b[K');
    this.drawn = false;
    if (!ok || !this.options.summary) return;
    const seconds = (Date.now() - this.started) / 1000;
    process.stderr.write(`${this.label}: sent ${formatBytes(this.done)} in ${seconds.toFixed(1)} s\n`);
  }
}

const LIVE_AFTER_MS = 500;
const REDRAW_MS = 200;

/** 4000 B, 5.9 KiB, 1.2 GiB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Node's codes for a certificate chain that ends in no CA it trusts. */
const UNTRUSTED_CA = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);
