import { EbmError, isEbmError, throwIfCancelled } from '@ebm/sdk';
import { readDataOfPack } from '../checker/check-data';
import type { CheckProblem } from '../checker/check-report';
import { visitReachableBlobs } from '../browse/reachable-blobs';
import { BlobStore } from '../repository/blob-store';
import { MasterIndex } from '../repository/master-index';
import type { PackBlob } from '../repository/pack-format';
import type { Repository } from '../repository/repository';
import type { SnapshotRecord } from '../repository/types';

export interface VerifySnapshotOptions {
  /** Skip packs the parent snapshot also references (they were verified with it). */
  readonly parent?: SnapshotRecord;
  readonly signal?: AbortSignal;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface SnapshotVerification {
  readonly packsRead: number;
  readonly blobsRead: number;
  readonly trees: number;
}

/** Problems listed in the error message before "and N more". */
const LISTED = 3;

/**
 * Re-reads what a backup wrote: every pack holding a blob the snapshot
 * references (trees and content), minus the packs its parent also
 * references — after an incremental, about what the backup added. Each such
 * pack is read whole: its bytes must hash to its name, its header must
 * match the index, every blob must decrypt, decompress and hash to its id
 * (the checker's readDataOfPack), so any flipped byte is found. Trees are
 * loaded and verified on the way. Throws E_CHECK_FAILED listing the damage,
 * E_BLOB_NOT_FOUND if the snapshot references an unindexed blob.
 * Hold a shared lock on the repository while it runs (prune must not run).
 */
export async function verifySnapshotData(repo: Repository, snapshot: SnapshotRecord, options: VerifySnapshotOptions = {}): Promise<SnapshotVerification> {
  const packBlobs = new Map<string, readonly PackBlob[]>();
  const index = await MasterIndex.load(repo, { onIndexFile: (_id, file) => file.packs.forEach((p) => packBlobs.set(p.id, p.blobs)) });
  const store = new BlobStore(repo, index);
  const mine = await referencedPacks(store, snapshot, options.signal).catch((err: unknown) => {
    if (!isEbmError(err) || err.code !== 'E_CORRUPT_OBJECT') throw err;
    throw new EbmError('E_CHECK_FAILED', `verification of snapshot ${snapshot.id.slice(0, 12)} (dataset ${snapshot.dataset}) failed: ${err.message}; run \`ebm check --read-data\``, { subject: err.subject, op: 'verify', cause: err });
  });
  const parents = options.parent !== undefined ? await referencedPacks(store, options.parent, options.signal).catch(() => undefined) : undefined;
  const toRead = [...mine.packs].filter((p) => parents === undefined || !parents.packs.has(p)).sort();
  const problems: CheckProblem[] = [];
  let blobsRead = 0;
  for (let i = 0; i < toRead.length; i++) {
    throwIfCancelled(options.signal, 'verify');
    const pack = toRead[i]!;
    blobsRead += await readDataOfPack(repo, pack, packBlobs.get(pack) ?? [], (p) => void problems.push(p));
    options.onProgress?.(i + 1, toRead.length);
  }
  if (problems.length > 0) {
    const listed = problems.slice(0, LISTED).map((p) => p.message).join('; ');
    throw new EbmError('E_CHECK_FAILED', `verification of snapshot ${snapshot.id.slice(0, 12)} (dataset ${snapshot.dataset}) found ${problems.length} problem(s): ${listed}${problems.length > LISTED ? `; and ${problems.length - LISTED} more` : ''}; run \`ebm check --read-data\``, { subject: problems[0]!.subject, op: 'verify' });
  }
  return { packsRead: toRead.length, blobsRead, trees: mine.trees };
}

async function referencedPacks(store: BlobStore, snapshot: SnapshotRecord, signal: AbortSignal | undefined): Promise<{ packs: Set<string>; trees: number }> {
  const packs = new Set<string>();
  const need = (id: string, where: string): void => {
    const loc = store.index.lookup(id);
    if (loc === undefined) throw new EbmError('E_BLOB_NOT_FOUND', `snapshot ${snapshot.id.slice(0, 12)}: blob ${id} (${where}) is missing from the index`, { subject: id, op: 'verify' });
    packs.add(loc.pack);
  };
  const { trees } = await visitReachableBlobs(store, [{ id: snapshot.tree, where: 'root tree' }], (ref) => need(ref.id, ref.where), signal ? { signal } : {});
  return { packs, trees };
}
