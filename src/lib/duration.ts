import { UserError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "500ms", "30s", "10m", "24h", "7d" (or "0") into milliseconds; `flag` names the option in errors. */
export function parseDuration(value: string, flag: string): number {
  if (value.trim() === '0') return 0;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  if (!match)
    throw new UserError(`${flag} ${JSON.stringify(value)} is not a duration: write e.g. 30s, 10m, 24h or 7d (0 to disable)`, 2);
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
}
