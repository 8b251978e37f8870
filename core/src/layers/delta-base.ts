import type { EntryMetadata } from '@ebm/sdk';
import type { BlobStore } from '../repository/blob-store';
import type { Repository } from '../repository/repository';
import type { Snapshot, SnapshotRecord } from '../repository/types';
import { saveViewSnapshot } from './derived-snapshot';
import type { DerivedOp } from './derived-snapshot';
import { diffViews } from './diff-layer-trees';
import { BASE_TAG, LAYER_TAG, LAYERED_FORMAT, LAYERED_VERSION } from './endpoint-snapshot';
import type { LayeredRecord } from './endpoint-snapshot';
import type { ViewDir } from './layer-view';
import { saveEndpointSnapshot } from './save-endpoint-snapshot';

/** Tag naming a base image across its versions (`--base-name NAME`): every version's base snapshot carries it. */
export function baseNameTag(name: string): string {
  return `base-name:${name}`;
}

/** The digest of a base snapshot, read from its dataset `layer:<digest>`. */
export function digestOfBase(snapshot: Pick<Snapshot, 'dataset'>): string | undefined {
  return snapshot.dataset.startsWith('layer:') && !snapshot.dataset.includes('#') ? snapshot.dataset.slice('layer:'.length) : undefined;
}

/** Dataset of the delta layer of a base stored as an older base plus a delta. */
export function deltaDataset(baseDataset: string): string {
  return `${baseDataset}#delta`;
}

export interface DeltaBaseInput {
  /** The older version the delta applies to (a base snapshot, ordinary or itself layered). */
  readonly older: SnapshotRecord;
  /** Its merged view. */
  readonly olderView: ViewDir;
  /** The new version's merged view and root metadata. */
  readonly target: ViewDir;
  readonly targetRoot?: EntryMetadata;
  /** The new version's dataset (`layer:<digest>`) and tags. */
  readonly dataset: string;
  readonly tags: readonly string[];
  readonly host: string;
  /** Translator and source recorded on the delta layer snapshot (the filesystem translator, the layer's directory). */
  readonly translator: Snapshot['translator'];
  readonly source: string;
  /** Layered record fields of the new base snapshot. */
  readonly provider: LayeredRecord['provider'];
  readonly layout: LayeredRecord['layout'];
  readonly op: DerivedOp;
  /** Snapshots it was computed from, and leaf layers read. */
  readonly from: readonly string[];
  readonly layers: readonly string[];
  readonly sourceTime?: string;
  readonly started: number;
  readonly read?: { readonly files: number; readonly bytes: number };
}

export interface DeltaBase {
  /** The layered base snapshot: layers `previous` (the older version) and `delta`. */
  readonly snapshot: SnapshotRecord;
  readonly delta: SnapshotRecord;
  readonly entries: number;
  readonly whiteouts: number;
}

/**
 * Stores a base version as an older version plus a delta layer
 * (docs/format.md, "Layered snapshots"): the delta = diffViews(older,
 * target) as a layer snapshot of dataset `<dataset>#delta` (tags `layer`,
 * `synthetic`), then a layered snapshot of `dataset` (no `endpoint` tag)
 * whose layers are `previous` → the older snapshot and `delta`. Restores,
 * rebases and endpoints reference the layered snapshot like any base.
 */
export async function saveDeltaBase(repo: Repository, store: BlobStore, input: DeltaBaseInput): Promise<DeltaBase> {
  const diff = diffViews(input.olderView, input.target);
  const delta = await saveViewSnapshot(repo, store, {
    view: diff.layer,
    ...(input.targetRoot ? { root: input.targetRoot } : {}),
    dataset: deltaDataset(input.dataset),
    host: input.host,
    tags: [LAYER_TAG],
    translator: input.translator,
    source: input.source,
    derived: { op: input.op, from: input.from, layers: input.layers, ...(input.sourceTime ? { sourceTime: input.sourceTime } : {}) },
    started: input.started,
    ...(input.read ? { read: input.read } : {}),
  });
  const olderDigest = digestOfBase(input.older);
  const record: LayeredRecord = {
    format: LAYERED_FORMAT,
    version: LAYERED_VERSION,
    provider: input.provider,
    layout: input.layout,
    source: input.source,
    layers: [
      { id: 'previous', kind: 'base', order: 0, immutable: true, ...(olderDigest ? { digest: olderDigest } : {}), snapshot: input.older.id, action: 'referenced' },
      { id: 'delta', kind: 'base', order: 1, immutable: true, snapshot: delta.id, action: 'stored' },
    ],
  };
  const saved = await saveEndpointSnapshot(repo, {
    record, dataset: input.dataset, host: input.host, tags: [...new Set([BASE_TAG, LAYER_TAG, ...input.tags])], started: input.started,
    endpoint: false,
    derived: { op: input.op, from: input.from, layers: input.layers, ...(input.sourceTime ? { sourceTime: input.sourceTime } : {}) },
    totals: [{ files: delta.summary.files, filesRead: delta.summary.filesRead, bytesRead: delta.summary.bytesRead, bytesAdded: delta.summary.bytesAdded }],
  });
  return { snapshot: saved.snapshot, delta, entries: diff.entries, whiteouts: diff.whiteouts };
}
