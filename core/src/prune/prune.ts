import { EbmError, throwIfCancelled } from '@ebm/sdk';
import { listPacks } from '../checker/check-packs';
import { BlobStore } from '../repository/blob-store';
import { writeIndexFiles } from '../repository/index-file';
import type { IndexedPack } from '../repository/index-file';
import { MasterIndex } from '../repository/master-index';
import { openBlob } from '../repository/pack-format';
import type { PackBlob } from '../repository/pack-format';
import { loadVerifiedPack, sealedBlobOf } from '../repository/pack-reader';
import { temporaryFileRemover } from '../mover/backend-capabilities';
import { PackWriter } from '../repository/pack-writer';
import type { FinishedPack } from '../repository/pack-writer';
import type { Repository } from '../repository/repository';
import { listSnapshotsStrict } from '../snapshots/snapshot-store';
import { markUsedBlobs } from './mark-used';
import { planPrune } from './prune-plan';
import type { PrunePlan } from './prune-plan';

export type PrunePhase = 'index' | 'snapshots' | 'trees' | 'repack' | 'index-write' | 'delete';

export interface PruneProgress {
  readonly phase: PrunePhase;
  readonly done: number;
  readonly total?: number;
}

export interface PruneOptions {
  /** Compute and report, change nothing. */
  readonly dryRun?: boolean;
  readonly onProgress?: (progress: PruneProgress) => void;
  readonly signal?: AbortSignal;
}

export interface PruneReport {
  /** Pack files removed whole (no used blob, or left over by an interrupted job). */
  readonly packsDeleted: number;
  /** Packs whose used blobs were copied into new packs before they were removed. */
  readonly packsRewritten: number;
  /** New packs written by the rewrite. */
  readonly packsWritten: number;
  /** Blob entries no longer in the index (unused blobs and duplicate copies). */
  readonly blobsRemoved: number;
  /** Storage bytes released, net of the new packs (an estimate with dryRun). */
  readonly bytesFreed: number;
  readonly indexFilesWritten: number;
  readonly indexFilesDeleted: number;
  /** Temporary files (`.tmp-*` in data/) that interrupted writes left behind, removed (their bytes are in bytesFreed). */
  readonly temporaryFilesDeleted: number;
}

/**
 * Removes data no snapshot references.
 *
 * THE CALLER MUST HOLD AN EXCLUSIVE LOCK on the repository: prune deletes
 * packs no index names, which would destroy a concurrent backup's work, and
 * it would miss the blobs of snapshots written after it listed them.
 *
 * It refuses (throws, changing nothing) when any index file, snapshot or tree
 * cannot be read, or a snapshot references a blob that is not stored: on a
 * partial view it could delete data that is still needed. Run check first.
 *
 * Order, chosen so that a crash at any point leaves a valid repository:
 *   1. copy the used blobs of mostly-unused packs into new packs (saved durably);
 *      a crash here leaves only packs no index names;
 *   2. write the new index (naming every remaining pack and the new ones,
 *      `supersedes` listing all old index files); a crash after it leaves old
 *      and new index files side by side, both naming only packs that still exist;
 *   3. delete the old index files; from here on only the new index remains;
 *   4. delete the packs that are no longer needed; none of them is named by the
 *      new index, so a crash leaves only unreferenced packs (removed next time);
 *   5. delete the temporary files interrupted writes left in data/ (a save cut
 *      short, a pack being built in place: BlobStore spools packs there).
 * The caller holds the exclusive lock, so no writer is at work during any of it.
 */
export async function prune(repo: Repository, options: PruneOptions = {}): Promise<PruneReport> {
  const progress = options.onProgress ?? (() => undefined);
  const signal = options.signal;

  const indexed = new Map<string, readonly PackBlob[]>();
  let indexFilesLoaded = 0;
  const index = await MasterIndex.load(repo, {
    onIndexFile: (_id, file) => {
      progress({ phase: 'index', done: ++indexFilesLoaded });
      for (const pack of file.packs) if (!indexed.has(pack.id)) indexed.set(pack.id, pack.blobs);
    },
  });
  const oldIndexIds = [...index.indexIds()];
  throwIfCancelled(signal, 'prune');

  const snapshots = await listSnapshotsStrict(repo);
  progress({ phase: 'snapshots', done: snapshots.length, total: snapshots.length });
  const used = await markUsedBlobs(new BlobStore(repo, index), snapshots, { signal, onTree: (done) => progress({ phase: 'trees', done }) });
  throwIfCancelled(signal, 'prune');

  const present = await listPacks(repo.backend);
  const { plan, unplaced } = planPrune(indexed, present, used);
  if (unplaced.length > 0) {
    throw new EbmError('E_STORAGE_NOT_FOUND', `prune refused: ${unplaced.length} used blob(s) (e.g. ${unplaced[0]}) are indexed only in pack files that are missing; run \`ebm check\``, { subject: unplaced[0], op: 'prune' });
  }
  const removeFiles = [...plan.remove.filter((p) => present.has(p)), ...plan.unindexed];
  const rewriteIndex = plan.rewrite.length > 0 || plan.remove.length > 0 || oldIndexIds.length > 1;
  const summary = (packsWritten: number, bytesWritten: number, indexFilesWritten: number, indexFilesDeleted: number, temporary = { files: 0, bytes: 0 }): PruneReport => ({
    packsDeleted: removeFiles.length,
    packsRewritten: plan.rewrite.length,
    packsWritten,
    blobsRemoved: plan.blobsRemoved,
    bytesFreed: plan.bytesReleased - bytesWritten + temporary.bytes,
    indexFilesWritten,
    indexFilesDeleted,
    temporaryFilesDeleted: temporary.files,
  });
  if (options.dryRun === true) {
    const packsEstimate = plan.bytesRewritten === 0 ? 0 : Math.ceil(plan.bytesRewritten / repo.config.packs.targetSize);
    return summary(packsEstimate, plan.bytesRewritten, rewriteIndex && (plan.keep.length > 0 || plan.rewrite.length > 0) ? 1 : 0, rewriteIndex ? oldIndexIds.length : 0);
  }

  // 1. Repack.
  const newPacks = await repack(repo, plan, signal, progress);
  const bytesWritten = newPacks.reduce((n, p) => n + p.bytes, 0);

  // 2. New index, then 3. old index files away.
  let newIndexIds: string[] = [];
  let indexFilesDeleted = 0;
  if (rewriteIndex) {
    progress({ phase: 'index-write', done: 0 });
    newIndexIds = await writeIndexFiles(repo, [...plan.keep, ...newPacks.map((p) => p.pack)], oldIndexIds);
    const keepIds = new Set(newIndexIds);
    for (const id of oldIndexIds) {
      if (keepIds.has(id)) continue;
      await repo.backend.remove({ type: 'index', name: id });
      indexFilesDeleted++;
    }
  }

  // 4. Packs no index names any more.
  const toDelete = [...removeFiles, ...plan.rewrite.map((r) => r.pack)];
  let deleted = 0;
  for (const name of toDelete) {
    await repo.backend.remove({ type: 'data', name });
    progress({ phase: 'delete', done: ++deleted, total: toDelete.length });
  }
  // 5. What interrupted writes left in data/ (the exclusive lock means no writer is at work).
  const temporary = await temporaryFileRemover(repo.backend)?.('data');
  return summary(newPacks.length, bytesWritten, newIndexIds.length, indexFilesDeleted, temporary);
}

interface WrittenPack {
  readonly pack: IndexedPack;
  readonly bytes: number;
}

/**
 * Copies the kept blobs of the packs to rewrite into new packs, verifying
 * each (decrypt, decompress, re-hash) so damage is never propagated. On a
 * failure the new packs are removed again (best effort; prune removes
 * leftovers next time anyway).
 */
async function repack(repo: Repository, plan: PrunePlan, signal: AbortSignal | undefined, progress: (p: PruneProgress) => void): Promise<WrittenPack[]> {
  const written: WrittenPack[] = [];
  const writer = new PackWriter(repo.cipher, repo.config.packs.targetSize);
  const save = async (packs: readonly FinishedPack[]): Promise<void> => {
    for (const p of packs) {
      await repo.backend.save({ type: 'data', name: p.name }, p.contents);
      written.push({ pack: { id: p.name, blobs: p.blobs }, bytes: p.size });
    }
  };
  try {
    let done = 0;
    for (const r of plan.rewrite) {
      throwIfCancelled(signal, 'prune');
      const data = await loadVerifiedPack(repo, r.pack);
      for (const blob of r.keep) {
        const sealed = sealedBlobOf(data, blob, r.pack);
        openBlob(repo, sealed, blob, r.pack, { rehash: true }); // what is copied into a new pack is verified in full
        // Copy: the new pack must not keep the whole old pack alive.
        await save(writer.add(blob.kind, blob.id, Buffer.from(sealed), blob.rawLength));
      }
      progress({ phase: 'repack', done: ++done, total: plan.rewrite.length });
    }
    await save(writer.finishAll());
  } catch (err) {
    await Promise.allSettled(written.map((w) => repo.backend.remove({ type: 'data', name: w.pack.id })));
    throw err;
  }
  return written;
}
