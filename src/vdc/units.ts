/**
 * Quantities written with units in a topology file: link delays, loss
 * percentages, link rates, memory and disk sizes. Each parser returns the
 * value in one base unit or a problem that says what to write instead.
 */

export type Parsed<T> = { value: T } | { problem: string };

const DURATION_US: Record<string, number> = { us: 1, µs: 1, ms: 1000, s: 1_000_000 };
/** netem's old 32-bit latency field overflows at a few minutes; a minute is more than any test wants. */
export const MAX_DELAY_US = 60_000_000;

/** "10ms", "0.5ms", "250us", "1s" → microseconds (a whole number). */
export function parseDelay(text: string): Parsed<number> {
  const match = /^(\d+(?:\.\d+)?)\s*(us|µs|ms|s)$/.exec(text.trim());
  if (!match) return { problem: 'must be a duration with a unit: us, ms or s, e.g. 10ms' };
  const value = wholeNumber(Number(match[1]) * DURATION_US[match[2]!]!);
  if (value === undefined) return { problem: 'must be a whole number of microseconds' };
  if (value > MAX_DELAY_US) return { problem: 'must be at most 60s' };
  return { value };
}

/** "1%", "0.25%" → percent, 0 to 100. */
export function parsePercent(text: string): Parsed<number> {
  const match = /^(\d+(?:\.\d+)?)\s*%$/.exec(text.trim());
  if (!match) return { problem: 'must be a percentage, e.g. 1% or 0.5%' };
  const value = Number(match[1]);
  if (value > 100) return { problem: 'must be at most 100%' };
  return { value };
}

const RATE_BITS: Record<string, number> = {
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  tbit: 1e12,
  kibit: 1024,
  mibit: 1024 ** 2,
  gibit: 1024 ** 3,
  tibit: 1024 ** 4,
};

/**
 * "100mbit", "1gbit", "512kibit" → bits per second. tc's byte units ("mbps" is
 * megaBYTES per second to tc) are refused because they read like megabits.
 */
export function parseRate(text: string): Parsed<number> {
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]+)$/.exec(text.trim());
  const unit = match?.[2]!.toLowerCase();
  if (match && unit && /^[kmgt]?i?bps$/.test(unit)) {
    return {
      problem: `"${match[2]}" means bytes per second to tc and is easily misread; write bits per second, e.g. ${match[1]}${unit.replace('bps', 'bit')} (or ×8 of that for bytes)`,
    };
  }
  const factor = unit === undefined ? undefined : RATE_BITS[unit];
  if (!match || factor === undefined)
    return { problem: 'must be a rate in bits per second: bit, kbit, mbit, gbit, tbit (or kibit…tibit), e.g. 100mbit' };
  const value = Math.round(Number(match[1]) * factor);
  if (value < 8) return { problem: 'must be at least 8bit' };
  return { value };
}

const SIZE_BYTES: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/**
 * "512M", "2G", "1.5T", "100Gi" → bytes. Units are binary, as QEMU and
 * qemu-img read them. A bare number is refused because QEMU would read it as
 * MiB in one place and bytes in another, and "GB" because it reads as decimal.
 */
export function parseSize(text: string): Parsed<number> {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT])i?$/i.exec(text.trim());
  if (!match) return { problem: 'must be a size with a binary unit: K, M, G or T (or Ki, Mi, Gi, Ti), e.g. 512M or 2G' };
  const value = wholeNumber(Number(match[1]) * SIZE_BYTES[match[2]!.toUpperCase()]!);
  if (value === undefined) return { problem: 'must be a whole number of bytes' };
  if (!Number.isSafeInteger(value)) return { problem: 'must be smaller than 8P' };
  if (value === 0) return { problem: 'must be larger than 0' };
  return { value };
}

/** The whole number `value` is meant to be, forgiving binary floating-point noise ("0.1ms" is 100.00000000000001 µs). */
function wholeNumber(value: number): number | undefined {
  const rounded = Math.round(value);
  return Math.abs(value - rounded) <= 1e-9 * Math.max(1, Math.abs(value)) ? rounded : undefined;
}
