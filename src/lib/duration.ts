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

/** A duration for people, in the units parseDuration reads: "45s", "2m", "1m30s", "1h5m", "1.5s" under 10 s. */
export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${Number((Math.max(0, ms) / 1000).toFixed(1))}s`;
  const seconds = Math.round(ms / 1000);
  const parts: [number, string][] = [
    [Math.floor(seconds / 86_400), 'd'],
    [Math.floor((seconds % 86_400) / 3600), 'h'],
    [Math.floor((seconds % 3600) / 60), 'm'],
    [seconds % 60, 's'],
  ];
  const first = parts.findIndex(([value]) => value > 0);
  // The two largest units are enough for a person: "1d3h", not "1d3h12m4s".
  return parts
    .slice(first, first + 2)
    .filter(([value]) => value > 0)
    .map(([value, unit]) => `${value}${unit}`)
    .join('');
}
