/**
 * Human output of the read commands: aligned columns under upper-case headers
 * (empty cells print as "-", so every row splits into the same fields), and
 * the `-o json|table` flag they all take.
 */
import { Option } from 'commander';

export type OutputFormat = 'table' | 'json';

export function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format: table (for people) or json (for programs)')
    .choices(['table', 'json'])
    .default('table');
}

/** Columns separated by at least two spaces; the last column is not padded. */
export function formatTable(headers: string[], rows: string[][]): string {
  const cells = [headers, ...rows.map((row) => row.map((cell) => (cell === '' ? '-' : cell)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => line + '\n')
    .join('');
}

export function printTable(headers: string[], rows: string[][]): void {
  process.stdout.write(formatTable(headers, rows));
}

/** "name  value" lines with the values aligned, for one object's settings. */
export function printKeyValues(entries: [string, string][]): void {
  const width = Math.max(0, ...entries.map(([key]) => key.length));
  process.stdout.write(entries.map(([key, value]) => `${key.padEnd(width)}  ${value === '' ? '-' : value}\n`).join(''));
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
