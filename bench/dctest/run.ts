/**
 * bench/dctest: how long `yagura dctest` takes to bring a data center up,
 * netboot it and converge BGP, for 1, 2 and 4 racks of the bench's server mix
 * (sites/: per rack a netns boot server, two netns servers and a VM server;
 * 4 racks: 2 spines, 8 ToRs, 4 boot servers, 4 VMs). One column per site,
 * one row per phase and check, plus "up → converged": from `dc up` to every
 * BGP session Established (node OS build and generate excluded), the figure
 * the goal is about (under 3 minutes for 4 racks on 2 cores without KVM;
 * Neco's dctest budget is 90 minutes on 32 vCPUs).
 *
 * Each site runs `yagura dctest SITE --no-add-rack -o json` as a user would,
 * with its run and data roots in a temp dir. Run as root:
 *   npm run bench:dctest [-- --sites 1rack,2racks,4racks]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DctestReport } from '../../src/dctest/report.js';
import { printTable } from '../table.js';

const YAGURA = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const SITES = fileURLToPath(new URL('./sites/', import.meta.url));
const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const NAMES = option('sites', '1rack,2racks,4racks').split(',');
/** The phases from `dc up` to converged. */
const BRING_UP = ['DC up', 'boot servers', 'load', 'power on', 'netboot', 'BGP'];

if (process.getuid?.() !== 0) {
  console.error('bench:dctest needs root (virtual data centers): sudo npm run bench:dctest');
  process.exit(1);
}

const reports: DctestReport[] = [];
for (const name of NAMES) {
  const roots = mkdtempSync(join(tmpdir(), 'yagura-bench-dctest-'));
  try {
    console.error(`\n== ${name}`);
    const run = spawnSync(
      process.execPath,
      [YAGURA, 'dctest', join(SITES, `${name}.yml`), '--no-add-rack', '-o', 'json', '--timeout', '25m'],
      {
        env: { ...process.env, YAGURA_DC_RUN_ROOT: join(roots, 'run'), YAGURA_DC_DATA_ROOT: join(roots, 'data') },
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 16 << 20,
      },
    );
    const report = JSON.parse(run.stdout.toString()) as DctestReport;
    reports.push(report);
  } finally {
    rmSync(roots, { recursive: true, force: true });
  }
}

const seconds = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
const header = [
  'phase / check',
  ...reports.map((r) => `${r.racks} rack${r.racks === 1 ? '' : 's'} (${r.servers} servers, ${r.vms} VMs)`),
];
const names = [...new Set(reports.flatMap((r) => [...r.phases, ...r.checks].map((p) => p.name)))];
const rows = names.map((name) => [
  name,
  ...reports.map((r) => {
    const found = [...r.phases, ...r.checks].find((p) => p.name === name);
    if (!found) return '-';
    if ('notApplicable' in found && found.notApplicable) return 'n/a';
    return `${seconds(found.ms)}${found.ok ? '' : ' FAIL'}`;
  }),
]);
const upToConverged = (r: DctestReport) =>
  r.phases.filter((p) => BRING_UP.includes(p.name)).length === BRING_UP.length
    ? r.phases.filter((p) => BRING_UP.includes(p.name)).reduce((sum, p) => sum + p.ms, 0)
    : undefined;
rows.push(['up → converged', ...reports.map((r) => seconds(upToConverged(r)))]);
rows.push(['whole run', ...reports.map((r) => `${seconds(r.totalMs)} ${r.passed ? 'pass' : 'FAIL'}`)]);
printTable('yagura dctest: phase times (wall clock, this host)', header, rows);
const netboot = reports.map((r) => `${r.racks}: ${r.phases.find((p) => p.name === 'netboot')?.detail ?? '-'}`);
console.log(`\nnetboot detail:\n${netboot.map((line) => `  ${line}`).join('\n')}`);
console.log("\nNeco's dctest budget (issue #11): 90 minutes on 32 vCPUs.");
if (reports.some((r) => !r.passed)) process.exitCode = 1;
