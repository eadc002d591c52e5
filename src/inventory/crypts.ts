/**
 * Disk-key escrow (crypts/<serial>/<path>): machines store the keys of their
 * encrypted disks here. Keys are create-only, refused once the machine is
 * retiring, and deleted together while it retires.
 */
import { conflict, notFound } from '../lib/errors.js';
import { readDocument, transact } from '../store/document.js';
import { keyMissing, type Store } from '../store/interface.js';
import type { Actor, Auditor } from './audit.js';
import { cryptCodec, cryptKey, cryptPrefix, machineCodec, machineKey } from './documents.js';

export class DiskKeys {
  constructor(
    private readonly store: Store,
    private readonly audit: Auditor,
  ) {}

  /** Stores a key; keys are create-only and refused once the machine is retiring. */
  async put(serial: string, path: string, key: Buffer, actor: Actor): Promise<void> {
    await transact(this.store, async (tx) => {
      // Read through the transaction: a key cannot slip in while the machine turns retiring.
      const machine = await tx.get(machineKey(serial), machineCodec);
      if (!machine) throw notFound(`machine ${serial}`);
      const state = machine.status.state;
      if (state === 'retiring' || state === 'retired')
        throw conflict(`machine ${serial} is ${state}: it takes no new disk keys`, 'state');
      tx.require(keyMissing(cryptKey(serial, path)), () =>
        conflict(`disk key ${path} of machine ${serial} already exists (keys are create-only)`, 'path'),
      );
      tx.put(cryptKey(serial, path), cryptCodec, key);
      tx.add(this.audit(actor, { category: 'crypts', instance: serial, action: 'put', detail: path }));
    });
  }

  async get(serial: string, path: string): Promise<Buffer> {
    const found = await readDocument(this.store, cryptKey(serial, path), cryptCodec);
    if (!found) throw notFound(`disk key ${path} of machine ${serial}`);
    return found.value;
  }

  /** Deletes every disk key of a retiring machine; returns the deleted paths. */
  async deleteAll(serial: string, actor: Actor): Promise<string[]> {
    return transact(this.store, async (tx) => {
      const machine = await tx.get(machineKey(serial), machineCodec);
      if (!machine) throw notFound(`machine ${serial}`);
      const state = machine.status.state;
      if (state !== 'retiring')
        throw conflict(`disk keys can be deleted only while the machine is retiring; ${serial} is ${state}`, 'state');
      const paths = (await tx.keys(cryptPrefix(serial))).map((key) => key.slice(cryptPrefix(serial).length));
      tx.add(
        { type: 'delete', prefix: cryptPrefix(serial) },
        this.audit(actor, { category: 'crypts', instance: serial, action: 'delete', detail: paths.join(',') }),
      );
      return paths;
    });
  }
}
