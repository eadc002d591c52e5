/** Reading the audit log (see audit.ts for how records are written and kept). */
import type { Store } from '../store/interface.js';
import { auditCodec, auditRange, type AuditRecord } from './audit.js';

export class AuditLog {
  constructor(private readonly store: Store) {}

  /**
   * Records of the days [since, until) (YYYYMMDD), in revision order, page by
   * page, all from one snapshot. A record that is not one (corrupt or foreign)
   * ends the reading with a CorruptDocumentError naming its key.
   */
  async *records(since?: string, until?: string): AsyncGenerator<AuditRecord[]> {
    const range = auditRange(since, until);
    let page = await this.store.range({ ...range, limit: 1000 });
    const revision = page.revision;
    for (;;) {
      yield page.kvs.map((kv) => auditCodec.decode(kv)).sort((a, b) => a.rev - b.rev);
      if (!page.more) return;
      page = await this.store.range({ ...range, limit: 1000, after: page.next, revision });
    }
  }
}
