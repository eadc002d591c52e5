/**
 * Local files over HTTP. Uploads: bodies stream to disk, never buffered.
 * Downloads: GET and HEAD with single byte ranges (206, 416), Accept-Ranges,
 * Content-Length and a strong ETag from the content's SHA-256; the file is
 * opened before anything is sent, so a deletion that races the download does
 * not cut it short.
 */
import { open } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../lib/errors.js';
import { contentRange, decideRange, etagOf } from '../boot/byte-range.js';

/**
 * Upload bodies are streamed to disk by the handler, never buffered: this
 * scope's parser hands the raw request through untouched, whatever its type.
 * A reply sent before the body was read to the end closes the connection, so
 * the rest of a large upload is not read just to be thrown away.
 */
export function streamedBodies(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
  scope.addHook('onSend', async (request: FastifyRequest, reply) => {
    if (!request.raw.complete) void reply.header('connection', 'close');
  });
}

export function declaredLength(request: FastifyRequest): number | undefined {
  const header = request.headers['content-length'];
  return header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined;
}

export interface LocalDownload {
  path: string;
  sha256: string;
  contentType: string;
  /** Further response headers (e.g. X-Sabakan-Asset-ID). */
  headers?: Record<string, string>;
}

export async function sendDownload(request: FastifyRequest, reply: FastifyReply, file: LocalDownload): Promise<FastifyReply> {
  let handle;
  try {
    handle = await open(file.path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new DomainError('not-found', 'the file was deleted while being fetched');
    throw error;
  }
  let size: number;
  try {
    size = (await handle.stat()).size;
  } catch (error) {
    await handle.close();
    throw error;
  }
  const etag = etagOf(file.sha256);
  const decision = decideRange(header(request, 'range'), size, header(request, 'if-range'), etag);
  void reply.headers({ ...file.headers, 'accept-ranges': 'bytes', etag, 'content-type': file.contentType });
  const range = contentRange(decision, size);
  if (range) void reply.header('content-range', range);
  if (decision.kind === 'unsatisfiable' || request.method === 'HEAD') {
    await handle.close();
    if (decision.kind === 'unsatisfiable')
      return reply
        .code(416)
        .type('application/json')
        .send({ error: `the range ${header(request, 'range')} lies outside the ${size} bytes of the file` });
    const length = decision.kind === 'partial' ? decision.end - decision.start + 1 : size;
    return reply
      .code(decision.kind === 'partial' ? 206 : 200)
      .header('content-length', length)
      .send();
  }
  const [start, end] = decision.kind === 'partial' ? [decision.start, decision.end] : [0, Math.max(0, size - 1)];
  const length = decision.kind === 'partial' ? end - start + 1 : size;
  if (length === 0) {
    await handle.close();
    return reply.code(200).header('content-length', 0).send('');
  }
  return reply
    .code(decision.kind === 'partial' ? 206 : 200)
    .header('content-length', length)
    .send(handle.createReadStream({ start, end }));
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
