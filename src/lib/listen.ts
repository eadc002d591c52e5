import { UserError } from './errors.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/** Parses HOST:PORT (IPv6 as [ADDR]:PORT); `flag` names the option in errors. */
export function parseListen(value: string, flag: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new UserError(`${flag} ${JSON.stringify(value)} is not HOST:PORT (e.g. 0.0.0.0:10080 or [::1]:10080)`, 2);
  }
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}
