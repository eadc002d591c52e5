/**
 * tc netem arguments for a link impairment (delay, jitter, loss, rate). Pure:
 * the same words go into the build plan and into `yagura dc netem`.
 */
import type { Netem } from './spec/index.js';

/** `netem delay 5ms 1ms loss 0.1% rate 100000kbit`, or undefined when nothing is impaired. */
export function netemArguments(netem: Netem): string[] | undefined {
  const words: string[] = [];
  if (netem.delayUs !== undefined || netem.jitterUs !== undefined) {
    words.push('delay', `${netem.delayUs ?? 0}us`);
    if (netem.jitterUs !== undefined) words.push(`${netem.jitterUs}us`);
  }
  if (netem.lossPercent !== undefined) words.push('loss', `${netem.lossPercent}%`);
  if (netem.rateBitsPerSecond !== undefined) words.push('rate', `${netem.rateBitsPerSecond}bit`);
  return words.length === 0 ? undefined : ['netem', ...words];
}

/** A `tc` command (without the leading "tc") that sets or replaces the interface's root qdisc. */
export function netemCommand(device: string, netem: Netem): string | undefined {
  const args = netemArguments(netem);
  return args ? `qdisc replace dev ${device} root ${args.join(' ')}` : undefined;
}

/** A `tc` command that removes the interface's impairment (back to the default qdisc). */
export function clearNetemCommand(device: string): string {
  return `qdisc del dev ${device} root`;
}

/** "delay 5ms ±1ms, loss 0.1%, rate 100mbit" for people. */
export function describeNetem(netem: Netem): string {
  const parts: string[] = [];
  if (netem.delayUs !== undefined || netem.jitterUs !== undefined) {
    const jitter = netem.jitterUs === undefined ? '' : ` ±${formatUs(netem.jitterUs)}`;
    parts.push(`delay ${formatUs(netem.delayUs ?? 0)}${jitter}`);
  }
  if (netem.lossPercent !== undefined) parts.push(`loss ${netem.lossPercent}%`);
  if (netem.rateBitsPerSecond !== undefined) parts.push(`rate ${formatRate(netem.rateBitsPerSecond)}`);
  return parts.join(', ');
}

function formatUs(us: number): string {
  if (us % 1_000_000 === 0 && us > 0) return `${us / 1_000_000}s`;
  if (us % 1000 === 0) return `${us / 1000}ms`;
  return `${us}us`;
}

function formatRate(bits: number): string {
  for (const [unit, size] of [
    ['gbit', 1e9],
    ['mbit', 1e6],
    ['kbit', 1e3],
  ] as const)
    if (bits >= size && bits % size === 0) return `${bits / size}${unit}`;
  return `${bits}bit`;
}
