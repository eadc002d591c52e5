/**
 * How the client commands talk to a running `yagura serve`: where it is
 * (--server / YAGURA_SERVER), which CA to trust for https (--cacert /
 * YAGURA_CACERT), who is asking (YAGURA_TOKEN as a bearer token, the local
 * user as X-Sabakan-User for the audit log), and one clear line for every way
 * a request can fail.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { userInfo } from 'node:os';
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
    const reply = await this.send(url, method, headers, payload);
    if (reply.status >= 200 && reply.status < 300) return reply;
    throw this.errorOf(reply);
  }

  private urlOf(path: string, query: Record<string, string> | undefined): URL {
    // Keep a path prefix of --server (a server behind a reverse proxy).
    const url = new URL(this.base.pathname.replace(/\/+$/, '') + path, this.base);
    for (const [name, value] of Object.entries(query ?? {})) url.searchParams.set(name, value);
    return url;
  }

  private send(url: URL, method: string, headers: Record<string, string>, payload: Buffer | undefined): Promise<Reply> {
    const secure = url.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const options: https.RequestOptions = { method, headers, agent: false, ...(secure && this.ca ? { ca: this.ca } : {}) };
      const request = (secure ? https : http).request(url, options, (response) => {
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
      request.on('error', (error) => reject(this.unreachable(error)));
      request.end(payload);
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

  private unreachable(error: Error): UserError {
    const code = (error as NodeJS.ErrnoException).code ?? error.message;
    const where = this.base.href.replace(/\/$/, '');
    if (code === 'YAGURA_TIMEOUT')
      return new UserError(`the Yagura server at ${where} did not answer within ${TIMEOUT_MS / 1000} s`);
    if (UNTRUSTED_CA.has(code))
      return new UserError(
        `cannot trust the certificate of the Yagura server at ${where} (${code}): pass the CA that signed it with --cacert FILE or YAGURA_CACERT`,
      );
    if (code === 'CERT_HAS_EXPIRED' || code === 'ERR_TLS_CERT_ALTNAME_INVALID')
      return new UserError(`the Yagura server at ${where} presented a certificate that is not valid for it (${code})`);
    return new UserError(
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

/** Node's codes for a certificate chain that ends in no CA it trusts. */
const UNTRUSTED_CA = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);
