/**
 * One HTTPS request to a BMC's Redfish service with Basic auth: what `dc
 * power` (vdc) and the hardware monitor and account provisioning (health)
 * send. A BMC's certificate is self-signed: give its PEM as `ca` to trust
 * exactly that certificate, or leave it out to skip the check, as Neco's
 * monitor-hw does with the iDRACs' factory certificates. Network failures
 * come back as one line naming the BMC and what went wrong; a password
 * never appears in one.
 */
import { request } from 'node:https';

export interface BmcTarget {
  host: string;
  /** 443 when left out. */
  port?: number;
  username: string;
  password: string;
  /** The BMC's certificate (PEM), trusted for this connection only; without it the certificate is not checked. */
  ca?: string | Buffer;
  /** How long one request may take (default 30 s). */
  timeoutMs?: number;
}

export interface BmcReply {
  status: number;
  body: string;
}

/** Largest answer read; a Redfish resource is a few kilobytes. */
const REPLY_LIMIT = 4 * 1024 * 1024;

/** Sends one request; resolves with whatever status the BMC answers, rejects only when no answer came. */
export function bmcRequest(target: BmcTarget, method: string, path: string, json?: unknown): Promise<BmcReply> {
  const payload = json === undefined ? undefined : JSON.stringify(json);
  const where = `the BMC at ${target.host}${target.port && target.port !== 443 ? `:${target.port}` : ''}`;
  const timeoutMs = target.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.host,
        port: target.port ?? 443,
        method,
        path,
        ...(target.ca !== undefined ? { ca: target.ca } : { rejectUnauthorized: false }),
        auth: `${target.username}:${target.password}`,
        headers: {
          accept: 'application/json',
          ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
        timeout: timeoutMs,
        // One connection per request: a BMC is asked rarely, and a pooled socket could outlive the BMC.
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          if (body.length > REPLY_LIMIT) req.destroy(new Error(`${where} sent more than ${REPLY_LIMIT} bytes for ${path}`));
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${where} did not answer ${method} ${path} within ${timeoutMs / 1000} s`)));
    req.on('error', (error: NodeJS.ErrnoException) => reject(new Error(describeFailure(where, error), { cause: error })));
    req.end(payload);
  });
}

/** The `message` of a Redfish error body, or the start of whatever the body is. */
export function redfishErrorMessage(body: string): string {
  try {
    return (JSON.parse(body) as { error?: { message?: string } }).error?.message ?? body.slice(0, 200);
  } catch {
    return body.slice(0, 200);
  }
}

function describeFailure(where: string, error: NodeJS.ErrnoException): string {
  if (error.message.startsWith(where)) return error.message; // our own timeout or size limit
  const why: Record<string, string> = {
    ECONNREFUSED: 'refused the connection (is its Redfish service up?)',
    EHOSTUNREACH: 'is unreachable',
    ENETUNREACH: 'is on no network this host reaches',
    ECONNRESET: 'dropped the connection',
    ETIMEDOUT: 'did not accept the connection in time',
    DEPTH_ZERO_SELF_SIGNED_CERT: 'presented a certificate other than the one trusted for it',
    SELF_SIGNED_CERT_IN_CHAIN: 'presented a certificate other than the one trusted for it',
    ERR_TLS_CERT_ALTNAME_INVALID: 'presented a certificate that is not for its address',
  };
  return `${where} ${why[error.code ?? ''] ?? `failed: ${error.message}`}`;
}
