/** Progress of long jobs (uploads) on stderr, and byte counts for people. */

/**
 * Progress of a long job on stderr. On a terminal, a line redrawn in place
 * once the job has run for half a second (so quick jobs print nothing live);
 * with `summary`, one closing line when the job succeeds, on a terminal or not.
 */
export class Progress {
  private done = 0;
  private readonly started = Date.now();
  private lastDraw = 0;
  private drawn = false;
  private readonly live = process.stderr.isTTY === true;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly options: { summary?: boolean } = {},
  ) {}

  advance(bytes: number): void {
    this.done += bytes;
    if (!this.live) return;
    const now = Date.now();
    if (now - this.started < LIVE_AFTER_MS || now - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = now;
    this.drawn = true;
    const percent = this.total > 0 ? Math.floor((100 * this.done) / this.total) : 100;
    const rate = this.done / Math.max(0.001, (now - this.started) / 1000);
    process.stderr.write(
      `\r${this.label}: ${percent}% (${formatBytes(this.done)} of ${formatBytes(this.total)}, ${formatBytes(rate)}/s)\x1b[K`,
    );
  }

  /** Replaces the live line, if one is shown, by a note (e.g. the job waits for something else now). */
  waiting(note: string): void {
    if (this.drawn) process.stderr.write(`\r${this.label}: ${note}\x1b[K`);
  }

  /** Clears the live line; prints the summary if the job succeeded and one was asked for. */
  end(ok: boolean): void {
    if (this.drawn) process.stderr.write('\r\x1b[K');
    this.drawn = false;
    if (!ok || !this.options.summary) return;
    const seconds = (Date.now() - this.started) / 1000;
    process.stderr.write(`${this.label}: sent ${formatBytes(this.done)} in ${seconds.toFixed(1)} s\n`);
  }
}

const LIVE_AFTER_MS = 500;
const REDRAW_MS = 200;

/** 4000 B, 5.9 KiB, 1.2 GiB. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}
