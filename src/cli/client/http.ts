/** The HTTP client of `yagura serve`'s API: requests, streamed uploads, and one clear error for every way they fail. */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { userInfo } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../../lib/errors.js';
import type { ServerFlags } from './flags.js';
import { Progress } from './progress.js';

const TIMEOUT_MS = 60_000;

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

/** Node's codes for a certificate chain that ends in no CA it trusts. */
const UNTRUSTED_CA = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);
