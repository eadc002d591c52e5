/**
 * The credentials the boot servers use on every machine's BMC (bmc/credentials),
 * as `neco bmc config set bmc-user` keeps the data center's BMC users in
 * etcd: one user and password for the whole data center. They live in the
 * store, never in files in the repository; whoever can read the store can
 * read them, so protect the store (etcd with TLS client certificates or
 * users). The API answers the user and whether a password is set, never the
 * password, and the audit log records the user only.
 */
import { z } from 'zod';
import { readDocument, transact } from '../store/document.js';
import { jsonCodec } from '../store/codec.js';
import type { Store } from '../store/interface.js';
import type { Actor, Auditor } from './audit.js';

export const BMC_CREDENTIALS_KEY = 'bmc/credentials';

/** Printable ASCII without spaces or quotes: what every BMC takes, and safe on a command line or in a header. */
const PRINTABLE = /^[\x21-\x7e]+$/;

export const bmcCredentials = z.strictObject({
  user: z.string().min(1).max(64).regex(PRINTABLE, 'must be printable ASCII without spaces'),
  password: z.string().min(1).max(128).regex(PRINTABLE, 'must be printable ASCII without spaces'),
});
export type BmcCredentials = z.infer<typeof bmcCredentials>;

/** What may be shown of the credentials. */
export interface BmcCredentialsSummary {
  user: string;
  passwordSet: boolean;
}

const credentialsCodec = jsonCodec('BMC credentials', bmcCredentials);

export class BmcCredentialStore {
  constructor(
    private readonly store: Store,
    private readonly audit: Auditor,
  ) {}

  /** The credentials, for the code that talks to BMCs; undefined until someone sets them. */
  async get(): Promise<BmcCredentials | undefined> {
    return (await readDocument(this.store, BMC_CREDENTIALS_KEY, credentialsCodec))?.value;
  }

  async summary(): Promise<BmcCredentialsSummary> {
    const credentials = await this.get();
    return { user: credentials?.user ?? '', passwordSet: credentials !== undefined };
  }

  /** Replaces the credentials; the audit record names the user, never the password. */
  async set(credentials: BmcCredentials, actor: Actor): Promise<void> {
    await transact(this.store, async (tx) => {
      tx.put(BMC_CREDENTIALS_KEY, credentialsCodec, credentials);
      tx.add(this.audit(actor, { category: 'bmc', instance: 'credentials', action: 'set', detail: `user ${credentials.user}` }));
    });
  }
}
