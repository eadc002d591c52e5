/**
 * Connecting to etcd: check the endpoints and TLS files before dialing, then
 * make one read with a deadline so that a wrong address, certificate or
 * password is reported at start-up as one actionable line.
 */
import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';
import { StoreUnavailableError, StoreUnreachableError } from './errors.js';
import { EtcdStore } from './etcd.js';

export interface EtcdConnectOptions {
  endpoints: string[];
  prefix: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  username?: string;
  password?: string;
  dialTimeoutMs?: number;
}

export async function openEtcdStore(options: EtcdConnectOptions): Promise<EtcdStore> {
  const endpoints = options.endpoints.map(checkEndpoint);
  if (endpoints.length === 0)
    throw new StoreUnavailableError('no etcd endpoint given: pass --etcd-endpoints http://HOST:2379[,...]');
  if (!options.prefix) throw new StoreUnavailableError('the etcd prefix is empty: pass --etcd-prefix, e.g. /yagura/');
  if ((options.certFile === undefined) !== (options.keyFile === undefined)) {
    throw new StoreUnavailableError(
      '--etcd-cert and --etcd-key go together: give both (client certificate and its key) or neither',
    );
  }
  if (options.username !== undefined && options.password === undefined) {
    throw new StoreUnavailableError(`etcd user ${options.username} has no password: set YAGURA_ETCD_PASSWORD or --etcd-password`);
  }
  const clientOptions: IOptions = { hosts: endpoints, dialTimeout: options.dialTimeoutMs ?? 5000 };
  if (options.caFile || options.certFile) {
    clientOptions.credentials = {
      rootCertificate: options.caFile ? readPem(options.caFile, '--etcd-cacert') : (undefined as unknown as Buffer),
      certChain: options.certFile ? readPem(options.certFile, '--etcd-cert') : undefined,
      privateKey: options.keyFile ? readPem(options.keyFile, '--etcd-key') : undefined,
    };
  }
  if (options.username !== undefined) clientOptions.auth = { username: options.username, password: options.password! };
  const client = new Etcd3(clientOptions);
  const store = new EtcdStore(client, { endpoints, prefix: options.prefix });
  try {
    const deadline = Date.now() + (options.dialTimeoutMs ?? 5000);
    await client.kv.range({ key: Buffer.from(options.prefix), limit: 1, keys_only: true }, { deadline });
  } catch (error) {
    client.close();
    throw explainConnectError(error, endpoints, options);
  }
  return store;
}

function checkEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint.includes('://') ? endpoint : `http://${endpoint}`);
  } catch {
    throw new StoreUnavailableError(
      `etcd endpoint ${JSON.stringify(endpoint)} is not a URL: write it as http://HOST:PORT or https://HOST:PORT`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new StoreUnavailableError(`etcd endpoint ${endpoint} must use http:// or https://, not ${url.protocol}`);
  }
  if (!url.port) throw new StoreUnavailableError(`etcd endpoint ${endpoint} has no port: etcd clients usually use :2379`);
  return `${url.protocol}//${url.host}`;
}

function readPem(file: string, flag: string): Buffer {
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch (error) {
    throw new StoreUnavailableError(`${flag} ${file}: cannot read it (${(error as NodeJS.ErrnoException).code}): check the path`);
  }
  if (!content.includes('-----BEGIN ')) {
    throw new StoreUnavailableError(
      `${flag} ${file}: not a PEM file (no "-----BEGIN" line): give the PEM-encoded certificate or key`,
    );
  }
  return content;
}

function explainConnectError(error: unknown, endpoints: string[], options: EtcdConnectOptions): StoreUnavailableError {
  const message = (error as Error).message ?? String(error);
  const where = endpoints.join(',');
  if (/authentication failed|invalid user ID or password/i.test(message)) {
    return new StoreUnavailableError(
      `etcd at ${where} refused user ${options.username} (authentication failed): check --etcd-user and the password`,
    );
  }
  if (/permission denied/i.test(message)) {
    return new StoreUnavailableError(
      `etcd user ${options.username} may not read ${options.prefix} at ${where}: grant it a readwrite role on that prefix`,
    );
  }
  if (/authentication is not enabled/i.test(message)) {
    return new StoreUnavailableError(`etcd at ${where} has authentication disabled: drop --etcd-user, or enable auth on etcd`);
  }
  if (/ssl|tls|handshake|certificate/i.test(message)) {
    return new StoreUnavailableError(
      `TLS with etcd at ${where} failed (${firstLine(message)}): check --etcd-cacert, --etcd-cert and --etcd-key`,
    );
  }
  const hint = endpoints.some((e) => e.startsWith('https:'))
    ? 'check --etcd-endpoints, that etcd runs there, and the TLS options'
    : 'check --etcd-endpoints and that etcd runs there (use https:// and --etcd-cacert if it serves TLS)';
  return new StoreUnreachableError(`cannot reach etcd at ${where} (${firstLine(message)}): ${hint}`);
}

/** The useful part of a gRPC error: without the status prefix, the "Last error" wrapper and OpenSSL's codes. */
function firstLine(message: string): string {
  const ssl = /SSL routines:[^:]*:([^:]+)/.exec(message);
  if (ssl) return ssl[1]!;
  return message
    .split('\n')[0]!
    .replace(/^\w+Error: /, '')
    .replace(/^\d+ [A-Z_]+: /, '')
    .replace(/No connection established\. Last error: (Error: )?/, '')
    .replace(/\.? ?Resolution note: ?$/, '')
    .slice(0, 200);
}
