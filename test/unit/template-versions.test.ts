import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseValidatorOutput } from '../../src/boot/templates/ignition-validate.js';
import {
  compareVersions,
  KEEP_VERSIONS,
  newestVersion,
  planVersionAdd,
  sortVersions,
  versionProblem,
} from '../../src/boot/templates/versions.js';

describe('template versions', () => {
  it('accepts dotted numbers and refuses anything else', () => {
    for (const id of ['1', '0', '1.2', '1.2.3', '10.0.0.1', '999999999.0']) assert.equal(versionProblem(id), undefined, id);
    for (const id of [
      '',
      'v1',
      '1.',
      '.1',
      '1..2',
      '01.2',
      '1.02',
      '1.2.3.4.5',
      '1.2-rc1',
      '1e3',
      '1 .2',
      '../x',
      '1234567890',
    ]) {
      assert.match(versionProblem(id) ?? '', /is not a version: use 1 to 4 dotted numbers/, id);
    }
  });

  it('orders numerically part by part; missing parts count as 0', () => {
    assert.deepEqual(sortVersions(['1.10', '1.9', '2', '1.9.1', '0.1', '10.0']), ['0.1', '1.9', '1.9.1', '1.10', '2', '10.0']);
    assert.equal(compareVersions('1.2', '1.2.0'), 0);
    assert.equal(newestVersion(['1.9', '1.10', '1.2']), '1.10');
    assert.equal(newestVersion([]), undefined);
  });

  it('IDs are immutable, also under another spelling of the same version', () => {
    assert.deepEqual(planVersionAdd(['1.0.0'], '1.0.0'), {
      kind: 'conflict',
      message: 'version 1.0.0 exists; IDs are immutable: upload a higher version',
    });
    assert.match((planVersionAdd(['1.0'], '1.0.0') as { message: string }).message, /same version as the existing 1\.0/);
  });

  it('keeps the newest 10: an 11th pushes out the lowest, one lower than all kept is refused', () => {
    const ten = Array.from({ length: 10 }, (_, i) => `${i + 1}.0`);
    const plan = planVersionAdd(ten, '11.0');
    assert.deepEqual(plan, { kind: 'ok', ids: [...ten.slice(1), '11.0'], pruned: ['1.0'] });
    const middle = planVersionAdd(ten, '5.5');
    assert.deepEqual(middle.kind === 'ok' && middle.pruned, ['1.0']);
    assert.match(
      (planVersionAdd(ten, '0.9') as { message: string }).message,
      /older than the 10 versions kept \(the oldest is 1\.0\)/,
    );
  });

  it('property: after any uploads the list is sorted, at most 10 long, and holds the highest accepted versions', () => {
    const version = fc.array(fc.nat({ max: 12 }), { minLength: 1, maxLength: 3 }).map((parts) => parts.join('.'));
    fc.assert(
      fc.property(fc.array(version, { maxLength: 40 }), (uploads) => {
        let ids: string[] = [];
        const accepted: string[] = [];
        for (const id of uploads) {
          const plan = planVersionAdd(ids, id);
          if (plan.kind === 'conflict') continue;
          accepted.push(id);
          ids = plan.ids;
        }
        assert.ok(ids.length <= KEEP_VERSIONS);
        assert.deepEqual(ids, sortVersions(ids));
        assert.deepEqual(ids, sortVersions(accepted).slice(-KEEP_VERSIONS));
      }),
    );
  });
});

describe("ignition-validate's report", () => {
  it('maps locations to JSON pointers and keeps the lines verbatim', () => {
    const report = parseValidatorOutput(
      'error at $.storage.files.0.path, line 12 col 5: path not specified\nwarning at $.foo, line 1 col 33: Unused key foo\n',
      1,
    );
    assert.deepEqual(report, {
      valid: false,
      problems: [
        {
          severity: 'error',
          pointer: '/storage/files/0/path',
          message: 'error at $.storage.files.0.path, line 12 col 5: path not specified',
        },
        { severity: 'warning', pointer: '/foo', message: 'warning at $.foo, line 1 col 33: Unused key foo' },
      ],
    });
  });

  it('unlocated failures and silent exits', () => {
    assert.deepEqual(parseValidatorOutput("couldn't parse config: unsupported config version\n", 1), {
      valid: false,
      problems: [{ severity: 'error', message: "couldn't parse config: unsupported config version" }],
    });
    assert.deepEqual(parseValidatorOutput('error at line 1 col 3: invalid character', 1).problems[0], {
      severity: 'error',
      message: 'error at line 1 col 3: invalid character',
    });
    assert.deepEqual(parseValidatorOutput('', 0), { valid: true, problems: [] });
    assert.equal(parseValidatorOutput('', 2).problems[0]!.message, 'ignition-validate failed (exit code 2)');
  });
});
