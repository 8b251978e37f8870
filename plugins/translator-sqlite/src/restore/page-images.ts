import { EbmError, isEbmError, RestoreContext, TreeEntry } from '@ebm/sdk';
import { blockBodyLength, BLOCK_HEADER_BYTES, decodeBlockBody } from '../delta/delta-block';
import { applyDelta } from '../delta/run-delta';
import type { DatabaseMeta } from '../manifest/entry-meta';
import { pagesInRun, runCount } from '../manifest/page-manifest';
import { ByteReader } from './byte-reader';

/**
 * The database's bytes, in order, from a database entry of either format
 * version, in one sequential pass over the entry's content (no other entry
 * is read: a restore of only this entry works).
 *
 * Version 1: the content is the database. Version 2: per segment, the delta
 * block, then each run's key image, which is patched with the run's delta
 * before it is yielded — at most one key image and one block per run, never
 * a chain of snapshots.
 *
 * A blob that cannot be loaded, or content that does not fit the layout, is
 * an EbmError naming the run and its pages (code of the host's error, e.g.
 * E_BLOB_NOT_FOUND, else E_CORRUPT_OBJECT).
 */
export async function* pageImages(ctx: RestoreContext, entry: TreeEntry, meta: DatabaseMeta, displayPath: string): AsyncGenerator<Buffer> {
  if (meta.version === 1) {
    for await (const piece of ctx.readContent(entry)) yield Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    return;
  }
  const { pageSize, pageCount, runPages } = meta;
  const segmentRuns = meta.segmentRuns!;
  const runs = runCount(pageCount, runPages);
  const reader = new ByteReader(ctx.readContent(entry));
  const where = (run: number): string => {
    const first = run * runPages + 1;
    return `run ${run} (pages ${first}–${first + pagesInRun(run, pageCount, runPages) - 1})`;
  };
  let what = '';
  const read = async (n: number): Promise<Buffer> => {
    const bytes = await reader.read(n);
    if (bytes === undefined) throw new Error(`its content ends before ${what}`);
    return bytes;
  };
  try {
    for (let first = 0; first < runs; first += segmentRuns) {
      const inSegment = Math.min(segmentRuns, runs - first);
      what = `the delta block of ${where(first)}${inSegment > 1 ? ` to ${where(first + inSegment - 1)}` : ''}`;
      const header = await read(BLOCK_HEADER_BYTES);
      const deltas = decodeBlockBody(await read(blockBodyLength(header)), first, inSegment);
      for (let run = first; run < first + inSegment; run++) {
        what = `the key image of ${where(run)}`;
        const image = await read(pagesInRun(run, pageCount, runPages) * pageSize);
        const delta = deltas.get(run);
        if (delta === undefined) {
          yield image;
          continue;
        }
        what = `the delta of ${where(run)}`;
        yield applyDelta(image, delta, pageSize);
      }
    }
    what = 'its end';
    if (!(await reader.atEnd())) throw new Error('it holds more bytes than its pages');
  } catch (err) {
    await reader.close().catch(() => undefined);
    if (isEbmError(err) && err.code === 'E_CANCELLED') throw err;
    const code = isEbmError(err) ? err.code : 'E_CORRUPT_OBJECT';
    throw new EbmError(code, `the stored pages of ${displayPath} cannot be restored: ${what} of snapshot ${ctx.snapshot.id}: ${(err as Error).message}`, {
      subject: displayPath, op: 'restore', cause: err,
    });
  }
}
