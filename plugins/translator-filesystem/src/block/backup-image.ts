import type { BigIntStats } from 'node:fs';
import { BackupContext, TreeEntry, throwIfCancelled } from '@ebm/sdk';
import { BlockModeOptions } from './block-options';
import { blockImageFields, blockCount } from './block-map';
import { blocksOverlapping, ByteRange, dataRanges, ExtentsMethod } from './extents';
import { ImageSourceKind, openImage } from './image-source';
import { previousBlocks } from './previous-blocks';
import { PassCounters, PassResult, readPass, recheckStored } from './read-pass';

/** What one block-mode file's backup did; summed into the snapshot meta. */
export interface ImageReport {
  readonly relPath: string;
  readonly source: ImageSourceKind;
  readonly extents: ExtentsMethod;
  /** Full reads of the file (1 when nothing changed under it). */
  readonly attempts: number;
  readonly consistent: boolean;
  /** Blocks of the logical file, and those never read because they lie in holes. */
  readonly blocks: number;
  readonly holesUnread: number;
  /** Bytes read by the re-checks (not in counters.bytesRead). */
  readonly recheckBytes: number;
  readonly counters: PassCounters;
  readonly notes: readonly string[];
}

export interface ImageRequest {
  readonly relPath: string;
  readonly absPath: string;
  /** The walk's lstat. */
  readonly stats: BigIntStats;
  /** The parent's entry at this path, if any. */
  readonly previous: TreeEntry | undefined;
  /**
   * Hook for a trusted change journal or dirty-block source: the byte ranges
   * that may have changed since the parent snapshot. Blocks outside them are
   * taken from the parent's map without being read. Ignored (everything is
   * read) when the parent has no usable map of the same size.
   */
  readonly changedRanges?: readonly ByteRange[];
}

type ImageFields = Pick<TreeEntry, 'kind' | 'size' | 'content' | 'meta'>;

/**
 * Backs up one file as a block image (block-map.ts describes the result).
 *
 * Consistency: with a reflink copy the bytes are a point-in-time image and
 * one read suffices. From the live file, each read ("pass") is bracketed by
 * fstat; the pass counts only when size, mtime and ctime (and the inode) did
 * not move, the file did not shrink under it, and the blocks it stored read
 * back with the same hashes (the per-block re-check). Otherwise it is read
 * again, up to `options.retries` more times with a growing pause; if it never
 * holds still, the last pass is stored with `consistent: false` in its map
 * and a warning (E_SOURCE_CHANGED) — never silently as a good image. The
 * blobs of abandoned passes are unreferenced and go at the next prune.
 */
export async function backupImage(ctx: BackupContext, req: ImageRequest, options: BlockModeOptions): Promise<{ fields: ImageFields; report: ImageReport }> {
  const notes: string[] = [];
  const parent = previousBlocks(req.previous, options.blockSize);
  if (typeof parent === 'string' && req.previous !== undefined) notes.push(`parent not used: ${parent}`);
  const usableParent = typeof parent === 'string' ? undefined : parent;

  const image = await openImage(req.absPath, options.reflink);
  if (image.note !== undefined) notes.push(image.note);
  try {
    let attempts = 0;
    let recheckBytes = 0;
    for (;;) {
      attempts++;
      throwIfCancelled(ctx.signal, 'backup');
      const before = await image.handle.stat({ bigint: true });
      const size = Number(before.size);
      const extents = dataRanges(image.handle.fd, size, options.extents);
      if (extents.note !== undefined && attempts === 1) notes.push(extents.note);
      const trustedRanges = req.changedRanges !== undefined && usableParent !== undefined && usableParent.map.size === size ? req.changedRanges : undefined;
      const pass: PassResult = await readPass({
        handle: image.handle,
        size,
        blockSize: options.blockSize,
        blocks: blocksOverlapping(extents.ranges, options.blockSize),
        previous: usableParent?.blocks,
        unchanged: trustedRanges !== undefined ? (index) => !touches(trustedRanges, index, options.blockSize) : undefined,
        tree: ctx.tree,
        signal: ctx.signal,
      });
      let consistent = image.kind === 'reflink';
      if (!consistent) {
        const after = await image.handle.stat({ bigint: true });
        consistent = !pass.shrank && sameFile(before, after);
        if (consistent) {
          const recheck = await recheckStored(image.handle, size, options.blockSize, pass.stored, ctx.signal);
          recheckBytes += recheck.bytesRead;
          consistent = recheck.same;
        }
      }
      const blocks = blockCount(size, options.blockSize);
      const readable = pass.counters.blocksRead + pass.counters.blocksTrusted;
      const report = (ok: boolean): ImageReport => ({
        relPath: req.relPath, source: image.kind, extents: extents.method, attempts, consistent: ok, blocks,
        holesUnread: blocks - readable, recheckBytes, counters: pass.counters, notes,
      });
      if (consistent || attempts > options.retries) {
        const fields = blockImageFields({ blockSize: options.blockSize, size, records: pass.records, consistent }, pass.content);
        return { fields, report: report(consistent) };
      }
      ctx.log.info(`${req.relPath}: changed while it was read (pass ${attempts}); reading it again`, { path: req.relPath });
      await pause(Math.min(1000, 100 * 2 ** (attempts - 1)), ctx.signal);
    }
  } finally {
    await image.close();
  }
}

function sameFile(before: BigIntStats, after: BigIntStats): boolean {
  return (
    after.isFile() &&
    after.ino === before.ino &&
    after.dev === before.dev &&
    after.size === before.size &&
    after.mtimeNs === before.mtimeNs &&
    after.ctimeNs === before.ctimeNs
  );
}

/** True when any of `ranges` overlaps block `index`. Ranges are few (a journal's extents): a linear scan is fine. */
function touches(ranges: readonly ByteRange[], index: number, blockSize: number): boolean {
  const start = index * blockSize;
  const end = start + blockSize;
  return ranges.some(([s, e]) => s < end && e > start);
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
