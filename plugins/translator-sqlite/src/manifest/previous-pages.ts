import { BackupContext, BlobId, isEbmError } from '@ebm/sdk';
import { decodeManifest, RunRecord } from './page-manifest';
import { readDatabaseMeta, readPageHashesMeta } from './entry-meta';

/** A run of the parent snapshot: its page hashes and the blob ids that hold it. */
export interface ReusableRun {
  readonly ids: readonly BlobId[];
  readonly hashes: Buffer;
}

/** The parent snapshot's pages of the same database, as the incremental needs them. */
export interface PreviousPages {
  readonly pageSize: number;
  readonly runPages: number;
  readonly pageCount: number;
  run(index: number): ReusableRun | undefined;
}

/**
 * Loads the parent's page-hash manifest for database entry `name`. Returns
 * undefined — and the backup reads and stores every run, as a baseline —
 * when there is no parent, the parent has no usable entry (another
 * translator, another format version, an inconsistent manifest), or the host
 * cannot serve the parent's content; the reason is logged. Only cancellation
 * propagates: a damaged parent must not stop a new full backup.
 */
export async function loadPreviousPages(ctx: BackupContext, name: string): Promise<PreviousPages | undefined> {
  const previous = ctx.previous;
  if (previous === undefined) return undefined;
  const skip = (reason: string): undefined => {
    ctx.log.info(`not reusing the parent snapshot's pages of ${name}: ${reason}; every page is stored again`, { parent: previous.id });
    return undefined;
  };
  try {
    const dbEntry = await previous.lookup(name);
    if (dbEntry === undefined) return skip('the parent has no entry of that name');
    const dbMeta = readDatabaseMeta(dbEntry);
    if (typeof dbMeta === 'string') return skip(`its entry cannot be used: ${dbMeta}`);
    const hashesEntry = await previous.lookup(dbMeta.pageHashes);
    if (hashesEntry === undefined) return skip(`the parent has no page-hash entry ${dbMeta.pageHashes}`);
    const hashesMeta = readPageHashesMeta(hashesEntry);
    if (typeof hashesMeta === 'string') return skip(`its page-hash entry cannot be used: ${hashesMeta}`);
    if (hashesMeta.database !== name || hashesMeta.pageSize !== dbMeta.pageSize || hashesMeta.pageCount !== dbMeta.pageCount || hashesMeta.runPages !== dbMeta.runPages) {
      return skip('its page-hash entry does not describe its database entry');
    }
    if (previous.readContent === undefined) return skip("this host's SDK cannot read a parent entry's content");
    const parts: Buffer[] = [];
    for await (const piece of previous.readContent(hashesEntry)) parts.push(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
    const records = decodeManifest(Buffer.concat(parts), dbMeta.pageCount, dbMeta.runPages);
    const ids = dbEntry.content ?? [];
    const total = records.reduce((sum, r) => sum + r.blobCount, 0);
    if (total !== ids.length) return skip(`its manifest names ${total} blobs but the database entry has ${ids.length}`);
    return indexRuns(dbMeta.pageSize, dbMeta.runPages, dbMeta.pageCount, records, ids);
  } catch (err) {
    if (isEbmError(err) && err.code === 'E_CANCELLED') throw err;
    return skip(`reading it failed: ${(err as Error).message}`);
  }
}

function indexRuns(pageSize: number, runPages: number, pageCount: number, records: readonly RunRecord[], ids: readonly BlobId[]): PreviousPages {
  const starts: number[] = [];
  let offset = 0;
  for (const r of records) {
    starts.push(offset);
    offset += r.blobCount;
  }
  return {
    pageSize,
    runPages,
    pageCount,
    run: (index) => {
      const record = records[index];
      if (record === undefined) return undefined;
      return { ids: ids.slice(starts[index]!, starts[index]! + record.blobCount), hashes: record.hashes };
    },
  };
}
