/**
 * `yagura dctest` end to end, as CI's proof of the whole data center: the
 * default site (sites/dctest.yml: 2 racks, 2 spines, per rack a netns boot
 * server, a netns server and a VM server — one VM by UEFI HTTP Boot, one by
 * the iPXE ROM) generated, brought up, loaded through the CLI, powered on
 * through the BMCs, netbooted, converged, and checked: reachability, ECMP,
 * agreement, a ToR failover and a live rack add. The run's JSON report is
 * what is asserted; afterwards nothing of the DC is left on the host.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DctestReport } from '../../src/dctest/report.js';
import { runYagura } from '../helpers/cli.js';
import { namespacesOf, processesOf, TestDc } from '../helpers/dc.js';

describe('yagura dctest', () => {
  it('proves the default 2-rack site end to end and leaves nothing behind', { timeout: 20 * 60_000 }, async (t) => {
    // TestDc gives the run and data roots in a temp dir and a unique name, and takes the DC down if this test dies.
    const dc = new TestDc('dctest');
    try {
      const run = await runYagura(['dctest', '--name', dc.name, '-o', 'json', '--timeout', '14m'], {
        env: dc.env,
        timeoutMs: 16 * 60_000,
      });
      let report: DctestReport;
      try {
        report = JSON.parse(run.stdout) as DctestReport;
      } catch {
        assert.fail(`no JSON report (exit ${run.code}):\n${run.stdout}\n${run.stderr.slice(-4000)}`);
      }
      for (const phase of report.phases) t.diagnostic(`${phase.name}: ${(phase.ms / 1000).toFixed(1)} s, ${phase.detail}`);
      for (const check of report.checks) t.diagnostic(`${check.name}: ${check.ok ? 'pass' : 'FAIL'}, ${check.detail}`);
      assert.equal(report.error, undefined, `stopped: ${report.error}\n${run.stderr.slice(-3000)}`);
      assert.deepEqual(
        report.phases.map((phase) => `${phase.name} ${phase.ok}`),
        ['node OS', 'generate', 'DC up', 'boot servers', 'load', 'power on', 'netboot', 'BGP'].map((name) => `${name} true`),
      );
      assert.deepEqual(
        { racks: report.racks, spines: report.spines, servers: report.servers, vms: report.vms },
        { racks: 2, spines: 2, servers: 6, vms: 2 },
      );
      const phase = (name: string) => report.phases.find((p) => p.name === name)!.detail;
      assert.match(phase('power on'), /rack0-ss1 \(IPMI\), rack1-ss1 \(Redfish\)/);
      assert.match(phase('netboot'), /2 VMs netbooted .*2 netns servers joined/);
      assert.match(phase('BGP'), /^36 sessions Established on 10 BIRDs/);

      const checks = new Map(report.checks.map((check) => [check.name, check]));
      assert.deepEqual([...checks.keys()], ['reachability', 'ECMP', 'agreement', 'ToR failover', 'add rack']);
      for (const check of checks.values()) assert.ok(check.ok, `${check.name}: ${check.detail}`);
      assert.match(checks.get('reachability')!.detail, /^6 pairs from 2 racks/);
      assert.match(checks.get('ECMP')!.detail, /^18 routes, each over two ToRs/);
      assert.match(checks.get('agreement')!.detail, /6 machines, \d+ leases, 8 ToR routes/);
      const failover = checks.get('ToR failover')!;
      assert.match(failover.detail, /rack1-tor[12] down .* lost \d+ of 200 pings, longest outage \d+ ms; sessions back/);
      assert.ok((failover.data!.longestOutageMs as number) < 8000, 'BFD took the dead paths out while the ToR was down');
      const grown = checks.get('add rack')!;
      assert.match(grown.detail, /rack 2 added live .* lost 0 of \d+ pings meanwhile; every node0 reachable/);

      assert.equal(run.code, 0, 'exit 0: every check passed');
      assert.equal(report.passed, true);
      assert.equal(report.kept, undefined);
      assert.deepEqual(namespacesOf(dc.name), [], 'no namespace of the DC is left');
      assert.deepEqual(processesOf(dc.runDir), [], 'no process of the DC is left');
    } finally {
      dc.dispose();
    }
  });

  it('refuses a spec it cannot read, in one line', async () => {
    const run = await runYagura(['dctest', '/nonexistent/site.yml']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^yagura: cannot read the site spec \/nonexistent\/site\.yml: .*no such file/im);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  });
});
