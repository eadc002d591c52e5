import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compactionTarget, pruneSamples } from '../../src/store/compaction.js';
import { parseDuration } from '../../src/lib/duration.js';

const hour = 3_600_000;
const samples = [
  { at: 0, revision: 10 },
  { at: hour, revision: 500 },
  { at: 2 * hour, revision: 900 },
];

describe('automatic compaction', () => {
  it('compacts to the newest revision that is older than the retention', () => {
    assert.equal(compactionTarget(samples, 2.5 * hour, hour, 0), 500);
    assert.equal(compactionTarget(samples, 3 * hour, hour, 0), 900);
  });

  it('does nothing while no sample is old enough, or when already compacted that far', () => {
    assert.equal(compactionTarget(samples, 0.5 * hour, hour, 0), undefined);
    assert.equal(compactionTarget(samples, 2.5 * hour, hour, 500), undefined);
  });

  it('keeps only the samples that can still become a target', () => {
    assert.deepEqual(pruneSamples(samples, 2.5 * hour, hour), samples.slice(1));
    assert.deepEqual(pruneSamples(samples, 0, hour), samples);
  });

  it('reads durations with units and refuses anything else', () => {
    assert.equal(parseDuration('24h', '--x'), 24 * hour);
    assert.equal(parseDuration('90s', '--x'), 90_000);
    assert.equal(parseDuration('0', '--x'), 0);
    assert.throws(() => parseDuration('1 day', '--compact-retention'), /--compact-retention "1 day" is not a duration/);
  });
});
