import * as fs from 'node:fs';
import { EbmError, isEbmError } from '@ebm/sdk';
import { loadTree } from '../browse/tree-walker';
import type { TreeEntry } from '@ebm/sdk';
import { BlobStore } from '../repository/blob-store';
import type { Repository } from '../repository/repository';
import type { SnapshotRecord } from '../repository/types';
import { loadSnapshot } from '../snapshots/snapshot-store';
import { Catalog } from './catalog';
import { removeCatalogFiles } from './catalog-file';
import type { TreeToIndex } from './catalog-writer';

export interface IndexProgress {
  /** The snapshot being indexed. */
  readonly snapshotId: string;
  /** Snapshots done so far in this sync, and how many it indexes. */
  readonly snapshotsDone: number;
  readonly snapshotsTotal: number;
  /** Trees and entries inserted so far in this sync (shared trees count once). */
  readonly trees: number;
  readonly entries: number;
}

export interface IndexOptions {
  readonly onProgress?: (p: IndexProgress) => void;
  readonly signal?: AbortSignal;
  /** Trees are inserted in transactions of about this many entries (default 50 000): bounds memory. */
  readonly batchEntries?: number;
}

export interface IndexResult {
  readonly trees: number;
  readonly entries: number;
}

export interface SyncFailure {
  readonly snapshotId: string;
  readonly error: EbmError;
}

export interface SyncReport {
  /** Snapshot ids indexed by this sync. */
  readonly added: readonly string[];
  /** Snapshot ids removed from the catalog (forgotten in the repository). */
  readonly removed: readonly string[];
  /** Snapshots that could not be indexed (damaged snapshot file or tree); the next sync tries again. */
  readonly failed: readonly SyncFailure[];
  readonly snapshotsInRepository: number;
  readonly trees: number;
  readonly entries: number;
}

const DEFAULT_BATCH_ENTRIES = 50_000;

/**
 * Indexes one snapshot: walks its trees depth-first, skipping every tree the
 * catalog already has (with its whole subtree: see CatalogWriter), and
 * inserts the new ones children first in batched transactions; the snapshot
 * row comes last, so a snapshot is in the catalog only once all its entries
 * are. Idempotent.
 */
export async function indexSnapshot(catalog: Catalog, repo: Repository, store: BlobStore, snapshot: SnapshotRecord, options: IndexOptions = {}): Promise<IndexResult> {
  const writer = catalog.writer;
  const repoRow = writer.ensureRepository(repo.config.id, repo.backend.location);
  const batchLimit = options.batchEntries ?? DEFAULT_BATCH_ENTRIES;
  const seen = new Set<string>();
  let batch: TreeToIndex[] = [];
  let batchSize = 0;
  let trees = 0;
  let entries = 0;
  const report = () => options.onProgress?.({ snapshotId: snapshot.id, snapshotsDone: 0, snapshotsTotal: 1, trees, entries });
  const flush = () => {
    writer.insertTrees(batch);
    batch = [];
    batchSize = 0;
    report();
  };
  const visit = async (treeId: string): Promise<void> => {
    if (seen.has(treeId) || writer.hasTree(treeId)) return;
    seen.add(treeId);
    if (options.signal?.aborted) throw new EbmError('E_CANCELLED', `indexing snapshot ${snapshot.id.slice(0, 8)} was cancelled`);
    const list: readonly TreeEntry[] = await loadTree(store, treeId);
    for (const e of list) if (e.kind === 'dir' && e.subtree) await visit(e.subtree);
    batch.push({ blobId: treeId, entries: list });
    batchSize += list.length;
    trees++;
    entries += list.length;
    if (batchSize >= batchLimit) flush();
  };
  await visit(snapshot.tree);
  if (batch.length > 0) flush();
  writer.insertSnapshot(repoRow, snapshot);
  return { trees, entries };
}

/**
 * Brings the catalog in line with the repository: indexes snapshots it lacks
 * (oldest first) and removes the ones the repository no longer has. Cheap
 * when nothing changed: one listing of the snapshot ids and one query; the
 * repository index is loaded only when there is something to index.
 * Read-only on the repository (takes no lock): a snapshot that cannot be read
 * right now is reported in `failed` and retried by the next sync.
 */
export async function syncCatalog(catalog: Catalog, repo: Repository, options: IndexOptions = {}): Promise<SyncReport> {
  const repositoryId = repo.config.id;
  const inRepo = await repo.listIds('snapshots');
  const repoSet = new Set(inRepo);
  const have = catalog.snapshotIds(repositoryId);
  const haveSet = new Set(have);
  const removed = have.filter((id) => !repoSet.has(id));
  catalog.writer.removeSnapshots(removed);
  const missing = inRepo.filter((id) => !haveSet.has(id));
  const failed: SyncFailure[] = [];
  const added: string[] = [];
  let trees = 0;
  let entries = 0;
  if (missing.length > 0) {
    const snapshots: SnapshotRecord[] = [];
    for (const id of missing) {
      try {
        snapshots.push(await loadSnapshot(repo, id));
      } catch (err) {
        if (isEbmError(err) && err.code === 'E_STORAGE_NOT_FOUND') continue; // forgotten meanwhile
        if (!isEbmError(err) || err.code !== 'E_CORRUPT_OBJECT') throw err;
        failed.push({ snapshotId: id, error: err });
      }
    }
    snapshots.sort((a, b) => Date.parse(a.time) - Date.parse(b.time) || a.id.localeCompare(b.id));
    const store = await BlobStore.open(repo);
    for (const [i, snapshot] of snapshots.entries()) {
      try {
        const onProgress = (p: IndexProgress) => options.onProgress?.({ ...p, snapshotsDone: i, snapshotsTotal: snapshots.length, trees: trees + p.trees, entries: entries + p.entries });
        const r = await indexSnapshot(catalog, repo, store, snapshot, { ...options, onProgress });
        trees += r.trees;
        entries += r.entries;
        added.push(snapshot.id);
        options.onProgress?.({ snapshotId: snapshot.id, snapshotsDone: i + 1, snapshotsTotal: snapshots.length, trees, entries });
      } catch (err) {
        if (isEbmError(err) && err.code === 'E_CANCELLED') throw err;
        if (!isEbmError(err) || !['E_CORRUPT_OBJECT', 'E_BLOB_NOT_FOUND', 'E_STORAGE_NOT_FOUND'].includes(err.code)) throw err;
        failed.push({ snapshotId: snapshot.id, error: err });
      }
    }
  }
  catalog.writer.markSynced(catalog.writer.ensureRepository(repositoryId, repo.backend.location), new Date());
  return { added, removed, failed, snapshotsInRepository: inRepo.length, trees, entries };
}

/**
 * Rebuilds the catalog at `file` from the repository alone. The new catalog
 * is built beside the old one (`<file>.rebuild-<pid>`) and renamed over it
 * when complete, so an interrupted rebuild leaves the previous catalog in
 * place. Only this repository's snapshots are in the result. Returns the
 * open catalog; close it when done.
 */
export async function rebuildCatalog(repo: Repository, file: string, options: IndexOptions = {}): Promise<{ catalog: Catalog; report: SyncReport }> {
  const temp = `${file}.rebuild-${process.pid}`;
  removeCatalogFiles(temp);
  const building = Catalog.open(temp);
  let report: SyncReport;
  try {
    report = await syncCatalog(building, repo, options);
    building.carryOverDiscoveries(file); // not derived from the repository: keep them
  } catch (err) {
    building.close();
    removeCatalogFiles(temp);
    throw err;
  }
  building.close(); // checkpoints and removes the WAL: the single file is complete
  // Drop the old WAL/SHM first: a stale WAL must never be replayed into the new file.
  for (const suffix of ['-wal', '-shm', '-journal']) fs.rmSync(`${file}${suffix}`, { force: true });
  fs.renameSync(temp, file);
  return { catalog: Catalog.open(file), report };
}
