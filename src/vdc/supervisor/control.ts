/**
 * The supervisor's control socket (<run>/control.sock): one JSON request per
 * connection, one JSON answer. The CLI on the host reaches the supervisor,
 * which lives inside the DC's namespace, through the filesystem.
 */
import { createConnection, createServer, type Server } from 'node:net';
import type { Netem } from '../spec/index.js';
import type { HardwareRequest } from './hardware-faults.js';

export type ControlRequest =
  | { op: 'status' }
  | { op: 'power'; node: string; action: 'on' | 'off' | 'reset' | 'cycle' | 'status' | 'shutdown' }
  | { op: 'netem'; link: string; bridge: string; netem: Netem | 'clear' }
  | HardwareRequest
  | { op: 'grow' }
  | { op: 'stop' };

export type ControlAnswer = { ok: true; result: unknown } | { ok: false; error: string };

const MAX_MESSAGE = 1 << 20;

export function serveControl(path: string, handle: (request: ControlRequest) => Promise<unknown>): Promise<Server> {
  const server = createServer((socket) => {
    let input = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      input += chunk;
      if (input.length > MAX_MESSAGE) return socket.destroy();
      const end = input.indexOf('\n');
      if (end < 0) return;
      let request: ControlRequest;
      try {
        request = JSON.parse(input.slice(0, end)) as ControlRequest;
      } catch {
        return socket.end(JSON.stringify({ ok: false, error: 'malformed request' }) + '\n');
      }
      handle(request).then(
        (result) => socket.end(JSON.stringify({ ok: true, result }) + '\n'),
        (error: Error) => socket.end(JSON.stringify({ ok: false, error: error.message }) + '\n'),
      );
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve(server));
  });
}

export class ControlUnavailable extends Error {
  override name = 'ControlUnavailable';
}

/** Sends one request; ControlUnavailable when nobody listens (the supervisor is not running). */
export function askSupervisor<T>(path: string, request: ControlRequest, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let output = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the DC's supervisor did not answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(JSON.stringify(request) + '\n'));
    socket.on('data', (chunk: string) => (output += chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED')
        reject(new ControlUnavailable('the supervisor is not running'));
      else if (error.code === 'EACCES')
        reject(new Error(`cannot reach the data center's supervisor at ${path}: permission denied (run with sudo)`));
      else reject(error);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        const answer = JSON.parse(output) as ControlAnswer;
        if (answer.ok) resolve(answer.result as T);
        else reject(new Error(answer.error));
      } catch {
        reject(new Error('the supervisor closed the connection without an answer'));
      }
    });
  });
}
