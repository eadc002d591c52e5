/**
 * One error shape for every failure: `{ error, field? }`, a 4xx for whatever
 * the caller did wrong (naming the field), 5xx only for server faults.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { DomainError, type ErrorKind } from '../lib/errors.js';

export interface ErrorBody {
  error: string;
  field?: string;
}

/** The one place where an error kind becomes an HTTP status. */
export const STATUS_OF_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'too-large': 413,
  unavailable: 503,
  // A server fault, but one the operator can act on: the body names the damaged key.
  corrupt: 500,
};

export function errorBody(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof DomainError) return { status: STATUS_OF_KIND[error.kind], body: withField(error.message, error.field) };
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issue = error.validation[0]!;
    const context = (error as { validationContext?: string }).validationContext;
    let field = fieldPath(issue.instancePath);
    const keys = (issue.params as { keys?: string[] }).keys;
    if (issue.keyword === 'unrecognized_keys' && keys?.length) {
      field = field ? `${field}.${keys[0]}` : keys[0]!;
      return { status: 400, body: { error: `unknown field ${field}`, field } };
    }
    const where = field || (context === 'body' ? 'body' : (context ?? 'request'));
    return { status: 400, body: withField(`${where}: ${issue.message}`, field || undefined) };
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, body: { error: 'request body too large' } };
  if (fastifyError.code === 'FST_ERR_CTP_EMPTY_JSON_BODY')
    return { status: 400, body: { error: 'the JSON body is empty', field: 'body' } };
  if (fastifyError instanceof SyntaxError || fastifyError.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return { status: 400, body: { error: `malformed JSON: ${fastifyError.message}`, field: 'body' } };
  }
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return { status: fastifyError.statusCode, body: { error: fastifyError.message } };
  }
  return { status: 500, body: { error: 'internal error; see the server log' } };
}

export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = errorBody(error);
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  void reply.code(status).type('application/json').send(body);
}

/** "/0/bmc/type" → "[0].bmc.type" */
function fieldPath(instancePath: string): string {
  return instancePath
    .split('/')
    .filter(Boolean)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('')
    .replace(/^\./, '');
}

function withField(error: string, field: string | undefined): ErrorBody {
  return field ? { error, field } : { error };
}
