/** What the Redfish unit tests share. */
import assert from 'node:assert/strict';
import { RedfishError } from '../../src/vdc/bmc/redfish/errors.js';

/** Runs `fn`, expecting a RedfishError; returns its status, MessageId and message. */
export function refusal(fn: () => unknown): { status: number; id: string; message: string } {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof RedfishError, `expected a RedfishError, got ${String(error)}`);
    return { status: error.status, id: error.info.MessageId, message: error.message };
  }
  assert.fail('expected a RedfishError');
}
