import * as os from 'node:os';
import type { EntryMetadata, JsonValue } from '@ebm/sdk';
import type { BlobStore } from '../repository/blob-store';
import type { Repository } from '../repository/repository';
import type { Snapshot, SnapshotRecord } from '../repository/types';
import { saveSnapshot } from '../snapshots/snapshot-store';
import { encodeView } from './layer-view';
import type { ViewDir } from './layer-view';

/**
 * The derivation record of a snapshot ebm computed from other snapshots
 * instead of reading a source (docs/format.md, "Layered snapshots"): its
 * `meta.derived`. Versioned on its own like the layered record; the snapshot
 * file stays `v` 1. Informational: nothing needs it to restore.
 */
export const DERIVED_FORMAT = 'ebm-derived';
export const DERIVED_VERSION = 1;
/** Tag of every snapshot written by synthesize, rebase or a base update's delta. */
export const SYNTHETIC_TAG = 'synthetic';

/**
 * - `synthetic-full`: the merged view of `from[0]` as one ordinary tree;
 * - `synthetic-incremental`: one layer equal to the layers of `from[1]` above `from[0]`;
 * - `base-delta`: a new base version as a layer over the older version `from[0]`;
 * - `rebase`: an endpoint's top layer recomputed over a new base (`from` = [endpoint, new base]).
 */
export type DerivedOp = 'synthetic-full' | 'synthetic-incremental' | 'base-delta' | 'rebase';

export interface DerivedRecord {
  readonly format: typeof DERIVED_FORMAT;
  readonly version: number;
  readonly op: DerivedOp;
  /** The snapshots it was computed from. */
  readonly from: readonly string[];
  /** The leaf layer snapshots whose trees were read. */
  readonly layers: readonly string[];
  /** Time of the snapshot it stands for (from[last]); the derived snapshot's own time is when it was written. */
  readonly sourceTime?: string;
}

export interface ViewSnapshotInput {
  readonly view: ViewDir;
  readonly root?: EntryMetadata;
  readonly dataset: string;
  readonly host: string;
  readonly tags: readonly string[];
  readonly translator: Snapshot['translator'];
  readonly source: string;
  readonly parent?: string;
  readonly derived: Omit<DerivedRecord, 'format' | 'version'>;
  /** Epoch ms the operation started. */
  readonly started: number;
  /** What was read from a source to compute it (a base update's scan); 0 otherwise. */
  readonly read?: { readonly files: number; readonly bytes: number };
}

/**
 * Writes a view as an ordinary snapshot: its trees (only those the
 * repository lacks), an index, then the snapshot file — the usual write
 * order. Content blobs are referenced, never read or copied. Call it under
 * a shared lock, with a store opened on `repo`.
 */
export async function saveViewSnapshot(repo: Repository, store: BlobStore, input: ViewSnapshotInput): Promise<SnapshotRecord> {
  const blobs = new Map<string, Buffer>();
  const { tree, tally } = encodeView(input.view, repo.keys.id, blobs);
  for (const [id, bytes] of blobs) if (!store.has(id)) await store.saveBlob('tree', id, bytes);
  await store.flush();
  const added = store.stats();
  const derived: DerivedRecord = { format: DERIVED_FORMAT, version: DERIVED_VERSION, ...input.derived };
  const snapshot: Snapshot = {
    v: 1,
    time: new Date().toISOString(),
    host: input.host,
    username: username(),
    dataset: input.dataset,
    translator: input.translator,
    source: input.source,
    tags: [...new Set([SYNTHETIC_TAG, ...input.tags])].sort(),
    ...(input.parent ? { parent: input.parent } : {}),
    tree,
    ...(input.root ? { root: input.root } : {}),
    summary: {
      files: tally.files, dirs: tally.dirs, others: tally.others,
      filesRead: input.read?.files ?? 0, filesReused: Math.max(0, tally.files - (input.read?.files ?? 0)),
      bytesTotal: tally.bytes, bytesRead: input.read?.bytes ?? 0,
      blobsOffered: 0, blobsShipped: 0, bytesShipped: 0,
      bytesAdded: added.bytesAdded, blobsAdded: added.blobsAdded,
      durationMs: Date.now() - input.started,
      warnings: [], warningsDropped: 0,
    },
    meta: { derived: JSON.parse(JSON.stringify(derived)) as JsonValue },
  };
  const id = await saveSnapshot(repo, snapshot);
  return { ...snapshot, id };
}

/** The derivation record of a snapshot, if it has one (not validated: informational). */
export function derivedRecordOf(snapshot: Pick<Snapshot, 'meta'>): DerivedRecord | undefined {
  const raw = snapshot.meta?.derived as Partial<DerivedRecord> | undefined;
  return raw !== undefined && raw !== null && raw.format === DERIVED_FORMAT ? (raw as DerivedRecord) : undefined;
}

function username(): string {
  try {
    return os.userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}
