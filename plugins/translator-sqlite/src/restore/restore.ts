import { EbmError, RestoreContext, RestoreOutcome, throwIfCancelled } from '@ebm/sdk';
import { DATABASE_FORMAT, entryFormat, PAGE_HASHES_FORMAT, readDatabaseMeta } from '../manifest/entry-meta';
import { parseOptions } from '../options';
import { restoreDatabase } from './restore-database';

/**
 * Restores every database entry of the snapshot under `ctx.target`, each
 * under its own name (see restore-database.ts for how one file is written
 * and put in place). Page-hash entries are bookkeeping for incrementals and
 * are skipped; any other entry (a directory, a file of another translator)
 * means the snapshot was not made by this translator and fails the restore.
 */
export async function restoreSqlite(ctx: RestoreContext): Promise<RestoreOutcome> {
  const options = parseOptions(ctx.options);
  const restored: string[] = [];
  for await (const { path, entry } of ctx.entries()) {
    throwIfCancelled(ctx.signal, 'restore');
    const format = entryFormat(entry);
    if (format === PAGE_HASHES_FORMAT) continue;
    if (format !== DATABASE_FORMAT) {
      throw new EbmError('E_CORRUPT_OBJECT', `entry ${JSON.stringify(path)} of snapshot ${ctx.snapshot.id} was not written by the sqlite translator (format ${JSON.stringify(format ?? null)})`, {
        subject: path, op: 'restore',
      });
    }
    const meta = readDatabaseMeta(entry);
    if (typeof meta === 'string') {
      throw new EbmError('E_CORRUPT_OBJECT', `database entry ${JSON.stringify(path)} of snapshot ${ctx.snapshot.id} cannot be restored: ${meta}`, { subject: path, op: 'restore' });
    }
    await restoreDatabase(ctx, path, entry, meta, options);
    restored.push(path);
  }
  return { meta: { databases: restored } };
}
