/**
 * The report of a dctest run: its phases (bring-up) with their times, its
 * checks with their outcomes, and whether it passed — what the CLI prints as
 * a table or JSON and what bench/dctest reads. Pure.
 */

export interface PhaseRecord {
  name: string;
  ms: number;
  ok: boolean;
  detail: string;
}

export interface CheckRecord extends PhaseRecord {
  data?: Record<string, unknown>;
  /** The site cannot show this check: it neither passed nor failed. */
  notApplicable?: true;
}

export interface DctestReport {
  site: string;
  dc: string;
  racks: number;
  spines: number;
  servers: number;
  vms: number;
  phases: PhaseRecord[];
  checks: CheckRecord[];
  /** Every phase ran and every check passed. */
  passed: boolean;
  totalMs: number;
  /** Where the DC was left (--keep), or undefined when it was removed. */
  kept?: { dc: string; dir: string };
  /** The error that stopped the run, if one did. */
  error?: string;
}

/** The checks a run makes, in order: a run that stops early lists the rest as not run. */
export const CHECKS = ['reachability', 'ECMP', 'agreement', 'ToR failover', 'add rack'] as const;

export function passed(report: Pick<DctestReport, 'phases' | 'checks' | 'error'>): boolean {
  return (
    report.error === undefined &&
    report.phases.every((phase) => phase.ok) &&
    report.checks.some((check) => check.ok) &&
    report.checks.every((check) => check.ok || check.notApplicable === true)
  );
}

/** Rows for the phases table: PHASE, TIME, RESULT, DETAIL. */
export function phaseRows(report: DctestReport): string[][] {
  return report.phases.map((phase) => [phase.name, seconds(phase.ms), phase.ok ? 'ok' : 'FAILED', phase.detail]);
}

/** Rows for the checks table: CHECK, TIME, RESULT, DETAIL; checks that never ran say so. */
export function checkRows(report: DctestReport, skipped: readonly string[] = []): string[][] {
  const ran = report.checks.map((check) => [
    check.name,
    seconds(check.ms),
    check.ok ? 'pass' : check.notApplicable ? 'n/a' : 'FAIL',
    check.detail,
  ]);
  const names = new Set(report.checks.map((check) => check.name));
  const notRun = CHECKS.filter((name) => !names.has(name)).map((name) => [
    name,
    '',
    skipped.includes(name) ? 'skipped' : 'not run',
    skipped.includes(name) ? 'turned off' : '',
  ]);
  return [...ran, ...notRun];
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
