import type { BigIntStats } from 'node:fs';
import { BlobId, TreeEntry } from '@ebm/sdk';
import { BlockMap, readBlockMap } from './block-map';
import { PreviousBlocks } from './read-pass';

/**
 * The parent's block map of the same path, indexed for the incremental, or a
 * reason why it cannot be used (no parent entry, another kind, another block
 * size, an unreadable map) — then every block is stored as in a baseline.
 */
export function previousBlocks(entry: TreeEntry | undefined, blockSize: number): { blocks: PreviousBlocks; map: BlockMap } | string {
  if (entry === undefined) return 'the parent snapshot has no entry at this path';
  const map = readBlockMap(entry);
  if (typeof map === 'string') return `the parent's entry is not usable: ${map}`;
  if (map.blockSize !== blockSize) return `the parent used blocks of ${map.blockSize} bytes, this backup ${blockSize}`;
  const content = entry.content ?? [];
  const byIndex = new Map<number, { hash: Buffer; ids: readonly BlobId[] }>();
  let at = 0;
  for (const record of map.records) {
    byIndex.set(record.index, { hash: record.hash, ids: content.slice(at, at + record.blobCount) });
    at += record.blobCount;
  }
  return { map, blocks: { blockSize, size: map.size, get: (index) => byIndex.get(index) } };
}

/**
 * True when the parent's block image of this path can be reused whole,
 * without opening the file: the restic rule of the ordinary files (same size,
 * mtime, ctime and inode), and the parent image was recorded consistent.
 */
export function unchangedSinceParent(entry: TreeEntry | undefined, stats: BigIntStats, blockSize: number): boolean {
  if (entry === undefined || entry.kind !== 'block-image') return false;
  const map = readBlockMap(entry);
  if (typeof map === 'string' || !map.consistent || map.blockSize !== blockSize) return false;
  return (
    entry.size !== undefined &&
    BigInt(entry.size) === stats.size &&
    entry.mtimeNs === stats.mtimeNs.toString() &&
    entry.ctimeNs === stats.ctimeNs.toString() &&
    entry.inode === stats.ino.toString()
  );
}
