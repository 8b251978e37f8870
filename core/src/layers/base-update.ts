import type { LayerInfo, Warning } from '@ebm/sdk';
import type { BackupService } from '../backup/backup-service';
import { BlobStore } from '../repository/blob-store';
import type { Repository } from '../repository/repository';
import type { SnapshotRecord } from '../repository/types';
import { loadSnapshot, removeSnapshot } from '../snapshots/snapshot-store';
import { saveDeltaBase } from './delta-base';
import type { DeltaBase } from './delta-base';
import { BASE_TAG, LAYER_TAG } from './endpoint-snapshot';
import type { LayeredRecord } from './endpoint-snapshot';
import { mergedViewOf } from './layer-stack';

export interface BaseUpdateInput {
  readonly repository: Repository;
  /** The new base version: an immutable layer with a digest and a root directory. */
  readonly layer: LayerInfo;
  /** Its dataset, `layer:<digest>`. */
  readonly dataset: string;
  /** The newest snapshot of an older version of the same base (same base-name tag). */
  readonly older: SnapshotRecord;
  /** `base-name:NAME`. */
  readonly nameTag: string;
  readonly host: string;
  readonly provider: LayeredRecord['provider'];
  readonly layout: LayeredRecord['layout'];
  readonly compressionLevel?: number;
  readonly signal?: AbortSignal;
  readonly onWarning?: (warning: Warning) => void;
}

export interface BaseUpdate extends DeltaBase {
  /** What reading the new version cost. */
  readonly filesRead: number;
  readonly bytesRead: number;
  readonly bytesAdded: number;
}

/**
 * A new version of a named base (docs/layers.md, "Base updates"): the new
 * version's directory is read once through the filesystem translator (its
 * files' content ids are their fingerprints; dedup makes unchanged content
 * free), then stored as the older version plus a delta layer (saveDeltaBase),
 * and the scan's own snapshot is removed again — its trees stay in packs
 * until the next prune. A crash before that removal leaves the scan as an
 * ordinary, complete base snapshot of the new version, which is harmless.
 */
export async function storeBaseUpdate(backups: BackupService, input: BaseUpdateInput): Promise<BaseUpdate> {
  const repo = input.repository;
  const started = Date.now();
  const scan = await backups.backup({
    repository: repo,
    translator: 'filesystem',
    source: input.layer.root!,
    dataset: input.dataset,
    tags: [BASE_TAG, LAYER_TAG, input.nameTag],
    options: { xattrs: true },
    full: true,
    host: input.host,
    ...(input.compressionLevel !== undefined ? { compressionLevel: input.compressionLevel } : {}),
    ...(input.signal ? { signal: input.signal } : {}),
    ...(input.onWarning ? { onWarning: input.onWarning } : {}),
  });
  const store = await BlobStore.open(repo);
  const below = await mergedViewOf(repo, store, input.older);
  const target = await mergedViewOf(repo, store, await loadSnapshot(repo, scan.snapshotId));
  const s = scan.snapshot.summary;
  const saved = await saveDeltaBase(repo, store, {
    older: input.older, olderView: below.view, target: target.view, ...(target.root ? { targetRoot: target.root } : {}),
    dataset: input.dataset, tags: [input.nameTag], host: input.host,
    translator: scan.snapshot.translator, source: input.layer.root!,
    provider: input.provider, layout: input.layout,
    op: 'base-delta', from: [input.older.id], layers: below.layers.map((l) => l.snapshot.id), started,
    read: { files: s.filesRead, bytes: s.bytesRead },
  });
  await removeSnapshot(repo, scan.snapshotId);
  return { ...saved, filesRead: s.filesRead, bytesRead: s.bytesRead, bytesAdded: s.bytesAdded + saved.delta.summary.bytesAdded };
}
