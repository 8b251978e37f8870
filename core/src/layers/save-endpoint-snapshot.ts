import * as os from 'node:os';
import { computeBlobId, encodeTree, isEbmError } from '@ebm/sdk';
import type { JsonValue } from '@ebm/sdk';
import { BlobStore } from '../repository/blob-store';
import type { Repository } from '../repository/repository';
import type { Snapshot, SnapshotRecord } from '../repository/types';
import { loadSnapshot, saveSnapshot } from '../snapshots/snapshot-store';
import { ENDPOINT_TAG, LAYERED_NESTED_VERSION, LAYERED_VERSION, layeredMeta, layeredRecordOf } from './endpoint-snapshot';
import type { LayeredRecord } from './endpoint-snapshot';
import { DERIVED_FORMAT, DERIVED_VERSION } from './derived-snapshot';
import type { DerivedRecord } from './derived-snapshot';

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
  /** False for a layered snapshot that is not an endpoint (a base stored as an older base plus a delta): no `endpoint` tag. */
  readonly endpoint?: boolean;
  /** How ebm computed it, when it did (rebase, a base update): stored as `meta.derived`. */
  readonly derived?: Omit<DerivedRecord, 'format' | 'version'>;
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
  // A layer naming a layered snapshot (a delta-stored base) needs a reader that expands it.
  const record: LayeredRecord = { ...input.record, version: (await namesLayered(repo, input.record)) ? LAYERED_NESTED_VERSION : LAYERED_VERSION };
  const sum = (k: 'files' | 'filesRead' | 'bytesRead' | 'bytesAdded'): number => input.totals.reduce((n, t) => n + t[k], 0);
  const snapshot: Snapshot = {
    v: 1,
    time: new Date(input.started).toISOString(),
    host: input.host,
    username: username(),
    dataset: input.dataset,
    translator: { id: input.record.provider.id, version: input.record.provider.version },
    source: input.record.source,
    tags: [...new Set([...(input.endpoint === false ? [] : [ENDPOINT_TAG]), ...input.tags])].sort(),
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
    meta: {
      ...layeredMeta(record),
      ...(input.derived ? { derived: JSON.parse(JSON.stringify({ format: DERIVED_FORMAT, version: DERIVED_VERSION, ...input.derived })) as JsonValue } : {}),
    },
  };
  const snapshotId = await saveSnapshot(repo, snapshot);
  return { snapshotId, snapshot: { ...snapshot, id: snapshotId } };
}

/** Whether any layer of the record names a layered snapshot (a missing one counts as not layered: check reports it). */
async function namesLayered(repo: Repository, record: LayeredRecord): Promise<boolean> {
  for (const l of record.layers) {
    if (l.snapshot === null) continue;
    try {
      if (layeredRecordOf(await loadSnapshot(repo, l.snapshot)) !== undefined) return true;
    } catch (err) {
      if (!isEbmError(err) || err.code !== 'E_STORAGE_NOT_FOUND') throw err;
    }
  }
  return false;
}

function username(): string {
  try {
    return os.userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}
