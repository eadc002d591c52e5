/**
 * GET a URL as a fetch Response, for anything that talks to a boot server.
 * Not fetch itself: the Fetch standard blocks a list of "bad ports", and the
 * API's default port 10080 is one of them (Node's fetch fails with "bad
 * port"), so fetch cannot reach a boot server where it listens by default.
 */
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';

/** Statuses whose Response may not have a body. */
const NULL_BODY = new Set([101, 204, 205, 304]);

export function httpGet(url: string, signal: AbortSignal): Promise<Response> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.get(url, { signal }, (incoming) => {
      const status = incoming.statusCode ?? 500;
      const headers = new Headers();
      for (const [name, value] of Object.entries(incoming.headers))
        if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
      if (NULL_BODY.has(status)) {
        incoming.resume();
        resolve(new Response(null, { status, headers }));
        return;
      }
      resolve(new Response(Readable.toWeb(incoming) as ReadableStream<Uint8Array>, { status, headers }));
    });
    request.once('error', reject);
  });
}
