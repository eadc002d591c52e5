/**
 * How the client commands talk to a running `yagura serve`: where it is
 * (--server / YAGURA_SERVER), which CA to trust for https (--cacert /
 * YAGURA_CACERT), who is asking (YAGURA_TOKEN as a bearer token, the local
 * user as X-Sabakan-User for the audit log), and one clear line for every way
 * a request can fail.
 */
export { ApiError, ServerClient, parseJson, type Body, type Reply, type Upload } from './http.js';
export { DEFAULT_SERVER, commandGroup, serverCommand, type ServerFlags } from './flags.js';
export { Progress, formatBytes } from './progress.js';
export { openLocalFile, readWhole, type LocalFile } from './files.js';
