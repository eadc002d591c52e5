/**
 * RMCP+ session bookkeeping: the inbound sequence number window (replays and
 * far-off numbers refused, reordering within the window accepted), and the
 * session table's idle timeout and eviction when all 32 slots are taken.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CIPHER_SUITES } from '../../src/vdc/bmc/ipmi/cipher-suites.js';
import { Privilege } from '../../src/vdc/bmc/ipmi/protocol.js';
import { SequenceWindow } from '../../src/vdc/bmc/ipmi/sequence-window.js';
import { type ActiveSession, SessionTable } from '../../src/vdc/bmc/ipmi/sessions.js';

describe('session sequence window', () => {
  it('starts wherever the first packet does and accepts each number once', () => {
    const window = new SequenceWindow();
    assert.equal(window.accept(5), 'accepted');
    assert.equal(window.accept(6), 'accepted');
    assert.equal(window.accept(6), 'replayed');
    assert.equal(window.accept(5), 'replayed');
  });

  it('never accepts zero', () => {
    const window = new SequenceWindow();
    assert.equal(window.accept(0), 'zero');
    assert.equal(window.accept(1), 'accepted');
    assert.equal(window.accept(0), 'zero');
  });

  it('accepts late packets within 16 of the highest, once, and refuses older ones', () => {
    const window = new SequenceWindow();
    assert.equal(window.accept(100), 'accepted');
    assert.equal(window.accept(110), 'accepted');
    assert.equal(window.accept(105), 'accepted'); // reordered, never seen
    assert.equal(window.accept(105), 'replayed');
    assert.equal(window.accept(100), 'replayed');
    assert.equal(window.accept(94), 'accepted'); // 16 behind
    assert.equal(window.accept(93), 'too-old'); // 17 behind
  });

  it('refuses numbers more than 16 ahead, so a forged jump cannot strand the session', () => {
    const window = new SequenceWindow();
    window.accept(1);
    assert.equal(window.accept(18), 'too-far-ahead');
    assert.equal(window.accept(17), 'accepted');
    assert.equal(window.accept(2), 'accepted'); // 15 behind, never seen
  });

  it('keeps working across the 2³² wrap', () => {
    const window = new SequenceWindow();
    assert.equal(window.accept(0xfffffffe), 'accepted');
    assert.equal(window.accept(0xffffffff), 'accepted');
    assert.equal(window.accept(1), 'accepted');
    assert.equal(window.accept(0xffffffff), 'replayed');
    assert.equal(window.check(0xfffffffd), 'accepted');
  });

  it('check() does not record anything', () => {
    const window = new SequenceWindow();
    window.accept(10);
    assert.equal(window.check(11), 'accepted');
    assert.equal(window.check(11), 'accepted');
    assert.equal(window.accept(11), 'accepted');
    assert.equal(window.check(11), 'replayed');
  });
});

describe('session table', () => {
  const suite = CIPHER_SUITES[0]!;
  let nextId = 1;
  const table = (capacity?: number) => new SessionTable({ capacity, randomId: () => nextId++ });
  const fields = { consoleSessionId: 7, suite, maxPrivilege: Privilege.ADMINISTRATOR };
  const activate = (t: SessionTable, id: number, now: number) => {
    const session = t.get(id, now)!;
    t.replace({ ...session, state: 'active', lastActivity: now } as ActiveSession);
  };

  it('drops a session after 60 s without traffic, and not before', () => {
    const t = table();
    const { session } = t.open(fields, 1_000);
    assert.equal(t.get(session.bmcSessionId, 60_999)?.bmcSessionId, session.bmcSessionId);
    assert.equal(t.get(session.bmcSessionId, 61_000), undefined);
    assert.equal(t.size, 0);
  });

  it('gives every session a distinct, non-zero ID', () => {
    const ids = [0, 5, 5, 6];
    const t = new SessionTable({ randomId: () => ids.shift() ?? 99 });
    assert.equal(t.open(fields, 0).session.bmcSessionId, 5);
    assert.equal(t.open(fields, 0).session.bmcSessionId, 6);
  });

  it('when full, evicts half-open handshakes before active sessions, oldest first', () => {
    const t = table(3);
    const a = t.open(fields, 100).session.bmcSessionId;
    const b = t.open(fields, 200).session.bmcSessionId;
    const c = t.open(fields, 300).session.bmcSessionId;
    activate(t, a, 100);
    activate(t, c, 300);
    assert.equal(t.open(fields, 400).evicted?.bmcSessionId, b); // the handshake, though a is older
    const d = t.list().find((s) => s.state === 'opened')!.bmcSessionId;
    assert.equal(t.open(fields, 500).evicted?.bmcSessionId, d);
    activate(t, t.list().find((s) => s.state === 'opened')!.bmcSessionId, 500);
    assert.equal(t.open(fields, 600).evicted?.bmcSessionId, a); // all active: the one idle longest
    assert.equal(t.size, 3);
  });

  it('expires idle sessions before evicting anyone', () => {
    const t = table(2);
    t.open(fields, 0);
    t.open(fields, 30_000);
    const { evicted } = t.open(fields, 60_000);
    assert.equal(evicted, undefined);
    assert.equal(t.size, 2);
  });
});
