/** Listening on an address, with one clear line for each way it cannot be done. */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { UserError } from '../lib/errors.js';
import type { Listener } from './config.js';

export interface Endpoint {
  /** How to reach the server from this host (a wildcard address is reached on loopback). */
  url: string;
  /** The port bound (the one picked when the listener asked for port 0). */
  port: number;
}

/** Starts `server` listening on `listener`. */
export async function listenOn(server: FastifyInstance, listener: Listener, scheme: 'http' | 'https'): Promise<Endpoint> {
  try {
    await server.listen({ host: listener.host, port: listener.port });
  } catch (error) {
    const text = listenerText(listener);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new UserError(`cannot listen on ${text}: the address is in use; stop the other server or choose another address`);
    if (code === 'EACCES') throw new UserError(`cannot listen on ${text}: permission denied (ports below 1024 need root)`);
    if (code === 'EADDRNOTAVAIL') throw new UserError(`cannot listen on ${text}: no such local address`);
    throw error;
  }
  const address = server.server.address() as AddressInfo;
  return { url: urlOf(address, scheme), port: address.port };
}

/** How the user wrote the address, or HOST:PORT. */
export function listenerText(listener: Listener): string {
  return listener.text ?? hostPort(listener.host, listener.port);
}

function urlOf(address: AddressInfo, scheme: string): string {
  const host = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
  return `${scheme}://${hostPort(host, address.port)}`;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
