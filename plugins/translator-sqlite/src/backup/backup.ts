import type { Database } from 'better-sqlite3';
import { BackupContext, BackupOutcome, TreeEntry } from '@ebm/sdk';
import { checkIntegrity, DatabaseInfo } from '../database/database-info';
import { beginReadTransaction } from '../database/read-transaction';
import { openForReading } from '../database/open-database';
import { resolveSourceFile, SourceFile } from '../database/source-file';
import { toEbmError } from '../database/sqlite-errors';
import { asJson, DatabaseMeta, databaseMeta, FORMAT_VERSION, PAGE_HASHES_FORMAT, PAGE_HASHES_SUFFIX, PageHashesMeta } from '../manifest/entry-meta';
import { loadPreviousPages } from '../manifest/previous-pages';
import { parseOptions } from '../options';
import { SEGMENT_RUNS, storePages, StoredPages } from './store-pages';

/**
 * Backs up one SQLite database file, application-consistently: every page is
 * read through SQLite inside ONE read transaction (rollback-journal or WAL
 * mode), so the snapshot holds one committed state while other processes go
 * on writing (in rollback-journal mode their commits wait for the read to
 * end, as SQLite's locking requires). The file is never read with `fs`:
 * closing any descriptor on it would drop this process's SQLite locks.
 *
 * Incremental: pages are grouped in fixed runs; a run whose page hashes match
 * the parent snapshot's reuses its stored blobs, a changed run stores only
 * its delta against its key image (see store-pages.ts).
 */
export async function backupSqlite(ctx: BackupContext): Promise<BackupOutcome> {
  const options = parseOptions(ctx.options);
  const integrityCheck = options.integrityCheck ?? 'quick';
  const source = await resolveSourceFile(ctx.source, 'backup');
  const previous = await loadPreviousPages(ctx, source.name); // before locking: the parent is read while writers still run
  const failure = { path: source.absPath, op: 'backup', busyTimeoutMs: options.busyTimeoutMs, role: 'source' } as const;
  let db: Database | undefined;
  let info: DatabaseInfo;
  let runPages: number;
  let stored: StoredPages;
  try {
    db = openForReading(source.realPath);
    info = await beginReadTransaction(db, options.busyTimeoutMs, ctx.signal);
    checkIntegrity(db, integrityCheck, source.absPath, 'backup');
    runPages = Math.max(1, Math.floor(options.runBytes / info.pageSize));
    stored = await storePages(ctx, db, info, runPages, options.pageDelta, previous, source.name, source.absPath);
    db.exec('COMMIT');
  } catch (err) {
    throw toEbmError(err, failure);
  } finally {
    db?.close();
  }
  await addEntries(ctx, source, databaseMeta(info, runPages, SEGMENT_RUNS, `${source.name}${PAGE_HASHES_SUFFIX}`, integrityCheck), stored);
  ctx.log.info(`stored ${source.name}: ${stored.runsStored} runs stored whole, ${stored.runsDelta} as deltas against their key images, ${stored.runsReused} reused from the parent`, {
    pages: info.pageCount, pageSize: info.pageSize, runPages, journalMode: info.journalMode,
  });
  const databaseBytes = info.pageCount * info.pageSize;
  ctx.progress.update({ files: 1, bytes: databaseBytes, totalFiles: 1, totalBytes: databaseBytes });
  return {
    meta: { format: 'sqlite', version: FORMAT_VERSION, database: source.name, journalMode: info.journalMode, pageSize: info.pageSize, pageCount: info.pageCount },
  };
}

async function addEntries(ctx: BackupContext, source: SourceFile, meta: DatabaseMeta, stored: StoredPages): Promise<void> {
  const manifest = await ctx.tree.writeContent(stored.manifest);
  const fileMeta: Pick<TreeEntry, 'mode' | 'uid' | 'gid' | 'mtimeNs' | 'ctimeNs'> = {
    mode: Number(source.stats.mode),
    uid: Number(source.stats.uid),
    gid: Number(source.stats.gid),
    mtimeNs: source.stats.mtimeNs.toString(),
    ctimeNs: source.stats.ctimeNs.toString(),
  };
  await ctx.tree.add(source.name, { kind: 'file', ...fileMeta, size: stored.size, content: stored.content, meta: asJson(meta) });
  const hashesMeta: PageHashesMeta = {
    format: PAGE_HASHES_FORMAT, version: FORMAT_VERSION, database: source.name, hash: 'sha256', pageSize: meta.pageSize, pageCount: meta.pageCount, runPages: meta.runPages, segmentRuns: SEGMENT_RUNS,
  };
  await ctx.tree.add(meta.pageHashes, { kind: 'file', mode: 0o100600, size: manifest.size, content: manifest.content, meta: asJson(hashesMeta) });
}
