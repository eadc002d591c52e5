/**
 * Path and method dispatch for a fixed set of Redfish resources. Redfish wants
 * 405 with an Allow header for a known resource asked with the wrong method,
 * and a trailing slash is the same resource (/redfish/v1/ is what GET /redfish
 * points to), which a plain lookup table expresses directly.
 */
import type { RedfishPrivilege } from '../accounts.js';
import type { Principal } from './auth.js';

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface RedfishRequest {
  method: Method;
  path: string;
  /** Values of the route's `:name` segments. */
  params: Record<string, string>;
  /** The raw body text ('' when there was none). */
  body: string;
  /** Who sent it; undefined only on routes open to everybody. */
  principal: Principal | undefined;
  /** The client's address, for the log. */
  remote: string;
}

export interface RedfishReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (request: RedfishRequest) => RedfishReply | Promise<RedfishReply>;

export interface Route {
  /** Segments starting with ':' match any one segment. */
  path: string;
  handlers: Partial<Record<Method, Handler>>;
  /** Methods that need no credentials (the service root, the login). */
  open?: readonly Method[];
  /** The privilege each method needs, where it is not the usual: Login to read, ConfigureComponents to change. */
  privileges?: Partial<Record<Method, RedfishPrivilege>>;
}

export type RouteMatch =
  | {
      kind: 'found';
      route: Route;
      method: Method;
      params: Record<string, string>;
      handler: Handler;
      open: boolean;
      privilege: RedfishPrivilege;
    }
  | { kind: 'wrong-method'; route: Route; allow: Method[] }
  | { kind: 'missing' };

/** Finds what serves `method` on `path`. HEAD is served as GET (Node leaves out the body). */
export function matchRoute(routes: readonly Route[], method: string, path: string): RouteMatch {
  const wanted = (method === 'HEAD' ? 'GET' : method) as Method;
  const segments = splitPath(path);
  for (const route of routes) {
    const params = matchSegments(splitPath(route.path), segments);
    if (params === undefined) continue;
    const handler = Object.hasOwn(route.handlers, wanted) ? route.handlers[wanted] : undefined;
    if (handler === undefined) return { kind: 'wrong-method', route, allow: allowedMethods(route) };
    const privilege = route.privileges?.[wanted] ?? (wanted === 'GET' ? 'Login' : 'ConfigureComponents');
    return { kind: 'found', route, method: wanted, params, handler, open: route.open?.includes(wanted) ?? false, privilege };
  }
  return { kind: 'missing' };
}

export function allowedMethods(route: Route): Method[] {
  return Object.keys(route.handlers) as Method[];
}

/** The path without query string and trailing slash: "/redfish/v1/?x" → "/redfish/v1". */
export function normalizePath(url: string): string {
  const path = url.split('?')[0]!.split('#')[0]!;
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

function matchSegments(pattern: string[], actual: string[]): Record<string, string> | undefined {
  if (pattern.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const a = decodeSegment(actual[i]!);
    if (p.startsWith(':')) params[p.slice(1)] = a;
    else if (p !== a) return undefined;
  }
  return params;
}

/** A path segment with its %-escapes undone ("Disk.Direct.0-0%3AAHCI…" is the drive "Disk.Direct.0-0:AHCI…"). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // a stray "%" is just a character of an unknown path
  }
}
