/**
 * `yagura dctest`: one run, from a site spec to a report. A session brings the
 * DC up (session.ts); then the checks run one after the other, each recorded
 * whatever its outcome; the DC and the generated files are removed afterwards
 * whatever happened (Ctrl-C included), unless `keep`.
 */
import { UserError } from '../lib/errors.js';
import { addRack } from './add-rack.js';
import { agreement, ecmp, reachability, torFailover, type CheckOutcome } from './checks.js';
import { passed, type DctestReport } from './report.js';
import { Session, type SessionOptions } from './session.js';

export interface DctestOptions extends SessionOptions {
  keep: boolean;
  /** Whether the live rack add is tried (the last check). */
  addRack: boolean;
}

export async function runDctest(options: DctestOptions): Promise<DctestReport> {
  const session = await Session.open(options);
  const { report, plan } = session;
  const check = async (name: string, work: () => Promise<CheckOutcome>): Promise<void> => {
    const at = Date.now();
    options.progress(`check ${name} …`);
    let outcome: CheckOutcome;
    try {
      outcome = await session.race(work());
    } catch (error) {
      if (error instanceof UserError && error.exitCode === 130) throw error;
      outcome = { ok: false, detail: `error: ${(error as Error).message}` };
    }
    report.checks.push({
      name,
      ms: Date.now() - at,
      ok: outcome.ok,
      detail: outcome.detail,
      ...(outcome.notApplicable ? { notApplicable: true as const } : {}),
      ...(outcome.data ? { data: outcome.data } : {}),
    });
    options.progress(`check ${name}: ${outcome.ok ? 'pass' : outcome.notApplicable ? 'n/a' : 'FAIL'}: ${outcome.detail}`);
  };
  try {
    const ctx = await session.bringUp();
    await check('reachability', () => reachability(ctx));
    await check('ECMP', () => ecmp(ctx));
    await check('agreement', () => agreement(ctx, [...plan.netboot, ...plan.joiners]));
    await check('ToR failover', () => torFailover(ctx));
    if (options.addRack)
      await check('add rack', () =>
        addRack(ctx, { spec: options.spec, name: session.dc, yagura: options.yagura, roots: options }),
      );
  } catch (error) {
    report.error = (error as Error).message;
  } finally {
    await session.close(options.keep);
  }
  report.totalMs = Date.now() - session.started;
  report.passed = passed(report);
  return report;
}
