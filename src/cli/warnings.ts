/**
 * Keeps Node's noise off a command-line tool's stderr: grpc-js sets the TLS
 * server name to the etcd endpoint's IP address, for which Node prints a
 * deprecation warning (DEP0123) on every connection. Every other warning stays.
 */
const SILENCED = new Set(['DEP0123']);
const emitWarning = process.emitWarning.bind(process);

process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: string }).code : rest[1];
  if (typeof code === 'string' && SILENCED.has(code)) return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;
