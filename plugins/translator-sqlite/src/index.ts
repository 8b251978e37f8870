/**
 * @ebm/translator-sqlite — application-consistent, page-level incremental
 * backups of SQLite databases (rollback-journal and WAL mode), read through
 * SQLite itself inside one read transaction. See docs/plugins.md, section
 * "translator-sqlite".
 */
import { defineTranslator } from '@ebm/sdk';
import { backupSqlite } from './backup/backup';
import { restoreSqlite } from './restore/restore';

export default defineTranslator({
  backup: backupSqlite,
  restore: restoreSqlite,
});

export { discoverDatabase } from './discovery/discover';
export type { DatabaseReport, TableReport, DiscoverOptions } from './discovery/discover';
