import * as os from 'node:os';
import { computeBlobId, encodeTree } from '@ebm/sdk';
import { BlobStore } from '../repository/blob-store';
import type { Repository } from '../repository/repository';
import type { Snapshot, SnapshotRecord } from '../repository/types';
import { saveSnapshot } from '../snapshots/snapshot-store';
import { ENDPOINT_TAG, layeredMeta } from './endpoint-snapshot';
import type { LayeredRecord } from './endpoint-snapshot';

export interface EndpointSnapshotInput {
  readonly record: LayeredRecord;
  readonly dataset: string;
  readonly host: string;
  readonly tags: readonly string[];
  readonly parent?: string;
  /** Epoch ms the backup started. */
  readonly started: number;
  /** Per-layer statistics summed into the endpoint's summary. */
  readonly totals: readonly { readonly files: number; readonly filesRead: number; readonly bytesRead: number; readonly bytesAdded: number }[];
}

/**
 * Writes an endpoint snapshot: its tree is the EMPTY tree (the layers'
 * content lives in their own snapshots; see docs/format.md, "Layered
 * snapshots") and `meta.layered` names the layer snapshots. The empty tree
 * blob is stored (once per repository) and indexed before the snapshot, in
 * the usual write order. Call it under a shared lock.
 */
export async function saveEndpointSnapshot(repo: Repository, input: EndpointSnapshotInput): Promise<{ snapshotId: string; snapshot: SnapshotRecord }> {
  const empty = encodeTree([]);
  const tree = computeBlobId(repo.keys.id, empty);
  const store = await BlobStore.open(repo);
  if (!store.has(tree)) {
    await store.saveBlob('tree', tree, empty);
    await store.flush();
  }
  const sum = (k: 'files' | 'filesRead' | 'bytesRead' | 'bytesAdded'): number => input.totals.reduce((n, t) => n + t[k], 0);
  const snapshot: Snapshot = {
    v: 1,
    time: new Date(input.started).toISOString(),
    host: input.host,
    username: username(),
    dataset: input.dataset,
    translator: { id: input.record.provider.id, version: input.record.provider.version },
    source: input.record.source,
    tags: [...new Set([ENDPOINT_TAG, ...input.tags])].sort(),
    ...(input.parent ? { parent: input.parent } : {}),
    tree,
    summary: {
      files: sum('files'), dirs: 0, others: 0,
      filesRead: sum('filesRead'), filesReused: sum('files') - sum('filesRead'),
      bytesTotal: 0, bytesRead: sum('bytesRead'),
      blobsOffered: 0, blobsShipped: 0, bytesShipped: 0,
      bytesAdded: sum('bytesAdded'), blobsAdded: 0,
      durationMs: Date.now() - input.started,
      warnings: [], warningsDropped: 0,
    },
    meta: layeredMeta(input.record),
  };
  const snapshotId = await saveSnapshot(repo, snapshot);
  return { snapshotId, snapshot: { ...snapshot, id: snapshotId } };
}

function username(): string {
  try {
    return os.userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}
