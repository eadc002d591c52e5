import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MACHINE_STATES, type MachineState } from '../../src/inventory/model.js';
import { checkTransition } from '../../src/inventory/states.js';

// sabakan's table (shared/reference/sabakan.md §2.2), written out independently of the code.
const ALLOWED = new Set([
  'uninitialized>healthy',
  'uninitialized>retiring',
  'healthy>unhealthy',
  'healthy>unreachable',
  'healthy>updating',
  'healthy>retiring',
  'unhealthy>healthy',
  'unhealthy>unreachable',
  'unhealthy>updating',
  'unhealthy>retiring',
  'unreachable>healthy',
  'unreachable>unhealthy',
  'unreachable>updating',
  'unreachable>retiring',
  'updating>uninitialized',
  'retiring>retired',
  'retired>uninitialized',
]);

describe('machine lifecycle', () => {
  it('allows exactly sabakan’s transitions, treats the same state as a no-op, and names both states otherwise', () => {
    for (const from of MACHINE_STATES) {
      for (const to of MACHINE_STATES) {
        const check = checkTransition(from as MachineState, to as MachineState);
        if (from === to) assert.equal(check.kind, 'same');
        else if (ALLOWED.has(`${from}>${to}`)) assert.equal(check.kind, 'change', `${from} -> ${to}`);
        else {
          assert.equal(check.kind, 'forbidden', `${from} -> ${to}`);
          assert.match((check as { message: string }).message, new RegExp(`from ${from} to ${to} is forbidden`));
        }
      }
    }
  });
});
