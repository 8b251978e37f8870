import type { PackBlob } from '../repository/pack-format';
import { PACK_ENTRY_BYTES } from '../repository/pack-format';
import type { IndexedPack } from '../repository/index-file';

/** A pack is rewritten when more than this fraction of its blob bytes is unused. */
export const REPACK_UNUSED_FRACTION = 0.1;

export interface PackRewrite {
  readonly pack: string;
  /** The blobs to copy into new packs. */
  readonly keep: readonly PackBlob[];
}

export interface PrunePlan {
  /** Packs kept as they are (with their full blob lists, for the new index). */
  readonly keep: readonly IndexedPack[];
  readonly rewrite: readonly PackRewrite[];
  /** Indexed packs with no used blob (or missing from storage and unneeded). */
  readonly remove: readonly string[];
  /** Pack files no index names: leftovers of interrupted jobs. */
  readonly unindexed: readonly string[];
  /** Blob entries dropped from indexed packs. */
  readonly blobsRemoved: number;
  /** Bytes of the packs that go away (removed, rewritten, unindexed). */
  readonly bytesReleased: number;
  /** Bytes the rewritten blobs will take in new packs (an estimate before repacking). */
  readonly bytesRewritten: number;
}

/**
 * Decides what happens to every pack. Each used blob is kept exactly once:
 * in the first (by name) present pack that holds it, so duplicate copies
 * left by racing backups or an interrupted prune are dropped.
 * Returns the used blobs that no present pack holds (the caller refuses).
 */
export function planPrune(
  indexed: ReadonlyMap<string, readonly PackBlob[]>,
  present: ReadonlyMap<string, number>,
  used: ReadonlySet<string>,
): { plan: PrunePlan; unplaced: string[] } {
  const placed = new Set<string>();
  const keep: IndexedPack[] = [];
  const rewrite: PackRewrite[] = [];
  const remove: string[] = [];
  let blobsRemoved = 0;
  let bytesReleased = 0;
  let bytesRewritten = 0;

  for (const pack of [...indexed.keys()].sort()) {
    const blobs = indexed.get(pack)!;
    const size = present.get(pack);
    if (size === undefined) {
      remove.push(pack); // missing already: only its index entries go
      blobsRemoved += blobs.length;
      continue;
    }
    const kept: PackBlob[] = [];
    let usedBytes = 0;
    let totalBytes = 0;
    for (const b of blobs) {
      totalBytes += b.length;
      if (used.has(b.id) && !placed.has(b.id)) {
        placed.add(b.id);
        kept.push(b);
        usedBytes += b.length;
      }
    }
    if (kept.length === 0) {
      remove.push(pack);
      blobsRemoved += blobs.length;
      bytesReleased += size;
    } else if (totalBytes - usedBytes > totalBytes * REPACK_UNUSED_FRACTION) {
      rewrite.push({ pack, keep: kept });
      blobsRemoved += blobs.length - kept.length;
      bytesReleased += size;
      bytesRewritten += usedBytes + kept.length * PACK_ENTRY_BYTES;
    } else {
      keep.push({ id: pack, blobs });
    }
  }

  const unindexed = [...present.keys()].filter((p) => !indexed.has(p)).sort();
  for (const p of unindexed) bytesReleased += present.get(p)!;
  const unplaced = [...used].filter((id) => !placed.has(id));
  return { plan: { keep, rewrite, remove, unindexed, blobsRemoved, bytesReleased, bytesRewritten }, unplaced };
}
