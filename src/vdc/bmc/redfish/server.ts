/**
 * The HTTPS side of a virtual BMC's Redfish service.
 *
 * Built on node:https rather than fastify: the service is a fixed table of a
 * dozen paths, every failure — including bad JSON, oversized bodies, unknown
 * paths and wrong methods (405 with Allow) — must come out in the Redfish error
 * format, and a data center starts dozens of these in one process. A plain
 * server does all of that without working around a framework's own not-found,
 * content-type and error defaults, and starts in about a millisecond.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { VERSION } from '../../../lib/version.js';
import { accountsFrom, hasPrivilege, type AccountsOption } from '../accounts.js';
import { MachineHardware } from '../hardware.js';
import type { ManagedMachine } from '../machine.js';
import { authenticate, type Principal } from './auth.js';
import {
  RedfishError,
  bodyTooLarge,
  insufficientPrivilege,
  internalError,
  methodNotAllowed,
  noValidSession,
  resourceMissing,
} from './errors.js';
import { matchRoute, normalizePath, allowedMethods, type RedfishReply, type Route } from './router.js';
import { redfishRoutes } from './service.js';
import { SessionTable } from './sessions.js';

/** The accounts: `accounts` shared with the BMC's IPMI side, or `username` and `password` of a factory user of its own. */
export type RedfishServerOptions = AccountsOption & {
  /** Address to listen on (a BMC's own IP, or 127.0.0.1). */
  host: string;
  /** 0 picks a free port; read the result from RedfishServer.port. */
  port: number;
  machine: ManagedMachine;
  /** The machine's parts; a standard set, all healthy, when left out. */
  hardware?: MachineHardware;
  /** Paths of the PEM certificate and private key, as ensureCertificate returns them. */
  tls: { cert: string; key: string };
  log?: Logger;
};

export interface RedfishServer {
  port: number;
  close(): Promise<void>;
}

/** Largest request body accepted; real requests are a few dozen bytes. */
const BODY_LIMIT = 64 * 1024;

export async function startRedfishServer(options: RedfishServerOptions): Promise<RedfishServer> {
  const accounts = accountsFrom(options);
  const [cert, key] = await Promise.all([readPem(options.tls.cert, 'certificate'), readPem(options.tls.key, 'key')]);
  const sessions = new SessionTable();
  const routes = redfishRoutes({
    machine: options.machine,
    hardware: options.hardware ?? new MachineHardware(),
    accounts,
    sessions,
    firmwareVersion: VERSION,
    ...(options.log ? { log: options.log } : {}),
  });
  // The service must outlive any one request, so nothing a request does may reject unobserved.
  const handle = (request: IncomingMessage, response: ServerResponse) =>
    void serve(request, response, routes, (r) => authenticate(r.headers, accounts, sessions), options.log).catch(
      (error: unknown) => {
        options.log?.error({ err: error }, 'Redfish response failed');
        response.destroy();
      },
    );
  let server: Server;
  try {
    server = createServer({ cert, key }, handle);
  } catch (error) {
    throw new Error(
      `Redfish: ${options.tls.cert} and ${options.tls.key} are not a usable certificate and key: ${(error as Error).message}`,
      { cause: error },
    );
  }
  // A client that never finishes its request must not hold a socket forever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.on('tlsClientError', (error) => options.log?.debug({ err: error.message }, 'TLS handshake failed'));
  await listen(server, options.host, options.port);
  const port = (server.address() as AddressInfo).port;
  options.log?.info({ host: options.host, port, machine: options.machine.name }, 'Redfish listening');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serve(
  request: IncomingMessage,
  response: ServerResponse,
  routes: readonly Route[],
  identify: (request: IncomingMessage) => Principal | undefined,
  log: Logger | undefined,
): Promise<void> {
  const method = request.method ?? 'GET';
  const path = normalizePath(request.url ?? '/');
  const remote = request.socket.remoteAddress ?? '';
  let principal: Principal | undefined;
  let reply: RedfishReply;
  try {
    const match = matchRoute(routes, method, path);
    const isOpen = match.kind === 'found' && match.open;
    if (!isOpen) {
      principal = identify(request);
      if (principal === undefined) {
        const presented = request.headers['x-auth-token'] !== undefined || request.headers.authorization !== undefined;
        if (presented) log?.warn({ remote, method, path }, 'request with wrong credentials or an unknown session token');
        throw noValidSession();
      }
      if (match.kind === 'found' && !hasPrivilege(principal.role, match.privilege)) {
        log?.warn(
          { remote, method, path, user: principal.userName, role: principal.role },
          'request refused: role lacks privilege',
        );
        throw insufficientPrivilege(match.privilege);
      }
    }
    if (match.kind === 'missing') throw resourceMissing(path);
    if (match.kind === 'wrong-method') throw methodNotAllowed(method, path, match.allow);
    const body = await readBody(request);
    reply = await match.handler({
      method: match.method,
      path,
      params: match.params,
      body,
      principal,
      remote,
    });
    if (reply.status < 300) reply = { ...reply, headers: { Allow: allowedMethods(match.route).join(', '), ...reply.headers } };
  } catch (error) {
    if (error instanceof RedfishError) {
      reply = { status: error.status, body: error.body, headers: error.headers };
    } else {
      log?.error({ err: error, method, path }, 'Redfish request failed');
      const failure = internalError(error instanceof Error ? error.message : String(error));
      reply = { status: failure.status, body: failure.body };
    }
  }
  log?.debug({ method, path, status: reply.status, user: principal?.userName, remote }, 'Redfish request');
  send(response, reply);
}

function send(response: ServerResponse, reply: RedfishReply): void {
  const headers: Record<string, string> = { 'OData-Version': '4.0', 'Cache-Control': 'no-store', ...reply.headers };
  if (reply.body === undefined) {
    response.writeHead(reply.status, headers).end();
    return;
  }
  const text = JSON.stringify(reply.body, null, 2);
  response
    .writeHead(reply.status, {
      ...headers,
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(text)),
    })
    .end(text);
}

/** The request body as text; a body over the limit is refused without reading the rest. */
function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > BODY_LIMIT) {
      request.resume();
      reject(bodyTooLarge(BODY_LIMIT));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT) {
        request.removeAllListeners('data');
        request.resume();
        reject(bodyTooLarge(BODY_LIMIT));
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'EADDRINUSE'
          ? 'the port is in use'
          : error.code === 'EADDRNOTAVAIL'
            ? 'no interface has that address'
            : error.message;
      reject(new Error(`Redfish: cannot listen on ${host}:${port}: ${why}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

async function readPem(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new Error(`Redfish: cannot read the TLS ${what} ${path}: ${(error as Error).message}`, { cause: error });
  }
}
