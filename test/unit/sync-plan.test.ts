/** planSync and decideFetched: what a sync pass of images or assets does, from hand-made observations. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideFetched, type ListedCopy, type LocalEntry, planSync, type SyncOp } from '../../src/boot/sync-plan.js';

const SELF = 'http://10.0.0.1:10080';
const PEER_A = 'http://10.0.0.2:10080';
const PEER_B = 'http://10.0.0.3:10080';

const copy = (id: string, holders: string[], extra: Partial<ListedCopy> = {}): ListedCopy => ({
  id,
  file: id,
  fingerprint: `sums-of-${id}`,
  holders,
  ...extra,
});
const here = (file: string, fingerprint = `sums-of-${file}`): LocalEntry => ({ file, fingerprint });
/** An entry whose fingerprint cannot be read: a partial copy, a crash leftover. */
const partial = (file: string): LocalEntry => ({ file, fingerprint: undefined });

interface Case {
  name: string;
  listed: ListedCopy[];
  local: LocalEntry[];
  ops: SyncOp[];
}

const cases: Case[] = [
  { name: 'nothing listed, nothing on disk: nothing to do', listed: [], local: [], ops: [] },
  {
    name: 'in line: a complete copy this server is listed for needs nothing',
    listed: [copy('a', [PEER_A, SELF])],
    local: [here('a')],
    ops: [],
  },
  {
    name: 'a fresh server fetches everything from the other holders, in listed order',
    listed: [copy('a', [PEER_A, PEER_B]), copy('b', [PEER_B])],
    local: [],
    ops: [
      { kind: 'fetch', id: 'a', peers: [PEER_A, PEER_B] },
      { kind: 'fetch', id: 'b', peers: [PEER_B] },
    ],
  },
  {
    name: 'a partial copy (no checksum file yet) is removed and fetched again',
    listed: [copy('a', [PEER_A])],
    local: [partial('a')],
    ops: [
      { kind: 'remove', file: 'a', why: 'incomplete' },
      { kind: 'fetch', id: 'a', peers: [PEER_A] },
    ],
  },
  {
    name: 'a copy with other content under a reused name (checksum mismatch on disk) is removed and the listed one fetched',
    listed: [copy('a', [PEER_A])],
    local: [here('a', 'sums-of-an-older-a')],
    ops: [
      { kind: 'remove', file: 'a', why: 'other-content' },
      { kind: 'fetch', id: 'a', peers: [PEER_A] },
    ],
  },
  {
    name: 'deleted upstream: a local copy no entry names is removed (and so are crash leftovers)',
    listed: [copy('a', [SELF])],
    local: [here('a'), here('gone'), partial('orphan')],
    ops: [
      { kind: 'remove', file: 'gone', why: 'unlisted' },
      { kind: 'remove', file: 'orphan', why: 'unlisted' },
    ],
  },
  {
    name: 'peer list empty: nothing to fetch from yet, so wait',
    listed: [copy('a', [])],
    local: [],
    ops: [{ kind: 'wait', id: 'a' }],
  },
  {
    name: 'self listed but no copy (a lost disk): unlist this server, and with no other holder, wait',
    listed: [copy('a', [SELF])],
    local: [],
    ops: [
      { kind: 'unlist-self', id: 'a' },
      { kind: 'wait', id: 'a' },
    ],
  },
  {
    name: 'self listed among others but no copy: unlist, then fetch from the others only',
    listed: [copy('a', [PEER_A, SELF, PEER_B])],
    local: [],
    ops: [
      { kind: 'unlist-self', id: 'a' },
      { kind: 'fetch', id: 'a', peers: [PEER_A, PEER_B] },
    ],
  },
  {
    name: 'a complete copy this server is not listed for (a crash before the record): list this server',
    listed: [copy('a', [PEER_A])],
    local: [here('a')],
    ops: [{ kind: 'list-self', id: 'a' }],
  },
  {
    name: 'names on disk are matched by file, not by ID (an asset’s file is its numeric ID)',
    listed: [copy('boot.ign', [PEER_A], { file: '7', fingerprint: '100 bytes' })],
    local: [here('6', '100 bytes'), here('7', '100 bytes')],
    ops: [
      { kind: 'remove', file: '6', why: 'unlisted' },
      { kind: 'list-self', id: 'boot.ign' },
    ],
  },
  {
    name: 'removals come first, listing corrections next, fetches last',
    listed: [copy('new', [PEER_A]), copy('kept', [PEER_A]), copy('lost', [SELF, PEER_B])],
    local: [here('kept'), here('old')],
    ops: [
      { kind: 'remove', file: 'old', why: 'unlisted' },
      { kind: 'list-self', id: 'kept' },
      { kind: 'unlist-self', id: 'lost' },
      { kind: 'fetch', id: 'new', peers: [PEER_A] },
      { kind: 'fetch', id: 'lost', peers: [PEER_B] },
    ],
  },
];

describe('planSync', () => {
  for (const c of cases)
    it(c.name, () => {
      assert.deepEqual(planSync(c.listed, c.local, SELF), c.ops);
    });

  it('applying its own plan leaves nothing to do (level-triggered: a second pass is a no-op)', () => {
    const listed = [copy('a', [PEER_A]), copy('b', [SELF])];
    const local = [partial('b'), here('c')];
    const ops = planSync(listed, local, SELF);
    const removed = new Set(ops.flatMap((op) => (op.kind === 'remove' ? [op.file] : [])));
    const fetched = new Set(ops.flatMap((op) => (op.kind === 'fetch' ? [op.id] : [])));
    const after = [...local.filter((e) => !removed.has(e.file)), ...[...fetched].map((id) => here(id))];
    const relisted = listed.map((c) => ({
      ...c,
      holders: fetched.has(c.id) ? [...c.holders.filter((h) => h !== SELF), SELF] : c.holders.filter((h) => h !== SELF),
    }));
    assert.deepEqual(planSync(relisted, after, SELF), [{ kind: 'wait', id: 'b' }]);
  });
});

describe('decideFetched', () => {
  const fetched = copy('a', [PEER_A]);
  const table: [string, ListedCopy | undefined, string | undefined, ReturnType<typeof decideFetched>][] = [
    ['still listed, nothing on disk: place it', copy('a', [PEER_A]), undefined, 'place'],
    ['still listed, more holders by now: still the same version', copy('a', [PEER_A, PEER_B]), undefined, 'place'],
    ['still listed, a partial copy on disk: place it over that', copy('a', [PEER_A]), 'partial', 'place'],
    ['another pass placed it meanwhile: keep that one, just record', copy('a', [PEER_A]), 'sums-of-a', 'keep-local'],
    ['deleted while fetching: discard', undefined, undefined, 'discard'],
    ['replaced with other content while fetching: discard', copy('a', [PEER_A], { fingerprint: 'other' }), undefined, 'discard'],
    ['replaced by a new version (a new file) while fetching: discard', copy('a', [PEER_A], { file: 'a2' }), undefined, 'discard'],
  ];
  for (const [name, current, local, verdict] of table)
    it(name, () => {
      assert.equal(decideFetched(fetched, current, local), verdict);
    });
});
