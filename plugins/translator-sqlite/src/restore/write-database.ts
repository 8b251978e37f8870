import { promises as fsp } from 'node:fs';
import { EbmError, RestoreContext, throwIfCancelled, TreeEntry } from '@ebm/sdk';
import type { DatabaseMeta } from '../manifest/entry-meta';
import { pageImages } from './page-images';

const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
/** Bytes 18 and 19 of the header: file format write/read version, 1 = rollback journal, 2 = WAL. */
const FORMAT_VERSION_OFFSET = 18;

/**
 * Writes the entry's pages (page-images.ts) to `file` (a new file, created exclusively with
 * mode 0600) and fsyncs it. Only `fs` touches this file, and no SQLite
 * connection of this process has it open, so no lock can be lost. Checks
 * the header against the entry's meta: the SQLite magic, the page size, and
 * bytes 18–19 = 2 for a WAL database (1 otherwise), so the restored file
 * opens in the journal mode it was backed up in.
 */
export async function writeDatabaseFile(ctx: RestoreContext, entry: TreeEntry, meta: DatabaseMeta, file: string, displayPath: string): Promise<number> {
  const fh = await fsp.open(file, 'wx', 0o600);
  let written = 0;
  const header = Buffer.alloc(100);
  try {
    for await (const piece of pageImages(ctx, entry, meta, displayPath)) {
      throwIfCancelled(ctx.signal, 'restore');
      if (written < header.length) piece.copy(header, written, 0, Math.min(piece.length, header.length - written));
      await fh.write(piece, 0, piece.length, written);
      written += piece.length;
      ctx.progress.update({ bytes: written, currentPath: displayPath });
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  if (meta.pageCount > 0) checkHeader(header, meta, displayPath);
  return written;
}

function checkHeader(header: Buffer, meta: DatabaseMeta, displayPath: string): void {
  const problem = (what: string): EbmError =>
    new EbmError('E_CORRUPT_OBJECT', `the restored ${displayPath} has ${what}; the snapshot's pages do not match its metadata`, { subject: displayPath, op: 'restore' });
  if (!header.subarray(0, MAGIC.length).equals(MAGIC)) throw problem('no SQLite header');
  const rawPageSize = header.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  if (pageSize !== meta.pageSize) throw problem(`page size ${pageSize} in its header, not ${meta.pageSize}`);
  const want = meta.journalMode === 'wal' ? 2 : 1;
  const write = header[FORMAT_VERSION_OFFSET];
  const read = header[FORMAT_VERSION_OFFSET + 1];
  if (write !== want || read !== want) throw problem(`header bytes 18–19 = ${write}, ${read} where ${meta.journalMode} mode needs ${want}, ${want}`);
}
