/** Running Kea's perfdhcp (Debian's kea-admin) in a namespace and reading its final report. */
import type { NetNs } from '../../test/helpers/netns.js';

export const PERFDHCP = process.env.YAGURA_BENCH_PERFDHCP ?? '/usr/sbin/perfdhcp';

export interface PerfdhcpRun {
  /** Target exchange rate (DORA/s); 0 = as fast as perfdhcp can go. */
  rate: number;
  seconds: number;
  /** Distinct simulated clients (MAC addresses). */
  clients: number;
  /** This end's address: perfdhcp acts as a relay there (giaddr) and receives replies on port 67. */
  local: string;
  server: string;
}

/** One exchange stage (DISCOVER-OFFER or REQUEST-ACK) of perfdhcp's final report; delays in ms. */
export interface Stage {
  sent: number;
  received: number;
  drops: number;
  orphans: number;
  minDelay: number;
  avgDelay: number;
  maxDelay: number;
  stdDelay: number;
}

export interface PerfdhcpResult {
  /** "Rate: N 4-way exchanges/second". */
  dora: number;
  discoverOffer: Stage;
  requestAck: Stage;
  exitCode: number | null;
  output: string;
}

export function perfdhcpArgs(run: PerfdhcpRun): string[] {
  return [
    '-4',
    '-l',
    run.local,
    '-R',
    String(run.clients),
    '-p',
    String(run.seconds),
    ...(run.rate > 0 ? ['-r', String(run.rate)] : []),
    // No -W (exit-wait-time): perfdhcp 2.2 counts the wait in its rate; the few answers in flight at the end count as drops.
    // A fixed seed: every server sees the same clients in the same order.
    '-s',
    '1',
    run.server,
  ];
}

export async function runPerfdhcp(ns: NetNs, run: PerfdhcpRun): Promise<PerfdhcpResult> {
  const proc = ns.spawn(PERFDHCP, perfdhcpArgs(run));
  const exitCode = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => void proc.stop(), (run.seconds + 30) * 1000);
    proc.child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  await proc.stop();
  return { ...parsePerfdhcp(proc.output()), exitCode, output: proc.output() };
}

/** Reads the final report; exits 3 on drops, so the caller judges by the numbers rather than the exit code. */
export function parsePerfdhcp(output: string): Omit<PerfdhcpResult, 'exitCode' | 'output'> {
  const rate = /Rate:\s*([\d.]+)\s+4-way exchanges\/second/.exec(output);
  return {
    dora: rate ? Number(rate[1]) : NaN,
    discoverOffer: stage(output, 'DISCOVER-OFFER'),
    requestAck: stage(output, 'REQUEST-ACK'),
  };
}

function stage(output: string, name: string): Stage {
  const start = output.indexOf(`***Statistics for: ${name}***`);
  const end = start === -1 ? -1 : output.indexOf('***', start + name.length + 20);
  const text = start === -1 ? '' : output.slice(start, end === -1 ? undefined : end);
  const field = (label: string) => {
    const match = new RegExp(`^${label}:\\s*([-\\d.]+|n/a)`, 'm').exec(text);
    return match && match[1] !== 'n/a' ? Number(match[1]) : NaN;
  };
  return {
    sent: field('sent packets'),
    received: field('received packets'),
    drops: field('drops'),
    orphans: field('orphans'),
    minDelay: field('min delay'),
    avgDelay: field('avg delay'),
    maxDelay: field('max delay'),
    stdDelay: field('std deviation'),
  };
}
