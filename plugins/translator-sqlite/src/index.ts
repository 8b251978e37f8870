/**
 * @ebm/translator-sqlite — application-consistent, page-level incremental
 * backups of SQLite databases (rollback-journal and WAL mode), read through
 * SQLite itself inside one read transaction. See docs/plugins.md, section
 * "translator-sqlite".
 */
import { defineTranslator } from '@ebm/sdk';
import type { DiscoverContext, DiscoveryReport } from '@ebm/sdk';
import { backupSqlite } from './backup/backup';
import { discoverDatabase } from './discovery/discover';
import { parseOptions } from './options';
import { restoreSqlite } from './restore/restore';

export default defineTranslator({
  backup: backupSqlite,
  restore: restoreSqlite,
  /** `ebm discover --translator sqlite DB`: tables, row counts, size and journal mode, read in one read transaction. */
  async discover(ctx: DiscoverContext): Promise<DiscoveryReport> {
    const { busyTimeoutMs } = parseOptions(ctx.options);
    return discoverDatabase(ctx.source, { busyTimeoutMs, signal: ctx.signal });
  },
});

export { discoverDatabase } from './discovery/discover';
export type { DatabaseReport, TableReport, DiscoverOptions } from './discovery/discover';
