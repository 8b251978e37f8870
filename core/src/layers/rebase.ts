import { EbmError } from '@ebm/sdk';
import { acquireLock } from '../locks/lock';
import { BlobStore } from '../repository/blob-store';
import type { Repository } from '../repository/repository';
import type { SnapshotRecord } from '../repository/types';
import { loadSnapshot } from '../snapshots/snapshot-store';
import { saveViewSnapshot } from './derived-snapshot';
import { digestOfBase } from './delta-base';
import { diffViews } from './diff-layer-trees';
import { BASE_TAG, ENDPOINT_TAG, LAYER_TAG, layeredRecordOf, mutableLayerDataset } from './endpoint-snapshot';
import type { LayeredRecord } from './endpoint-snapshot';
import { mergedViewOf } from './layer-stack';
import { saveEndpointSnapshot } from './save-endpoint-snapshot';

export interface RebaseRequest {
  readonly repository: Repository;
  /** An endpoint snapshot. */
  readonly endpoint: SnapshotRecord;
  /** A base snapshot (tag `base`): ordinary, or stored as an older base plus a delta. */
  readonly to: SnapshotRecord;
}

export interface RebaseResult {
  /** The new endpoint snapshot: the new base, then the new top layer. */
  readonly snapshot: SnapshotRecord;
  /** The new top layer snapshot (U'). */
  readonly layer: SnapshotRecord;
  readonly entries: number;
  readonly whiteouts: number;
}

/**
 * `ebm rebase ENDPOINT --to NEWBASE`: moves an endpoint onto a new base
 * without touching it. M = the endpoint's merged view; U' = diffViews(new
 * base's merged view, M) — entries equal to the new base's (fingerprint and
 * restorable metadata) are left out, the rest kept, paths only in the new
 * base whited out, wholly replaced directories opaque — stored as the next
 * snapshot of the endpoint's top layer dataset (`<endpoint>#layer:<top id>`,
 * parent = the top layer's snapshot), and a new endpoint snapshot (parent =
 * the old one) naming the new base and U'. Layers between the base and the
 * top are folded into U'. A flattened restore of the result equals one of
 * the original; the endpoint's next backup on the new base is incremental
 * against U' (its newest top-layer snapshot). Only trees are read.
 */
export async function rebaseEndpoint(request: RebaseRequest): Promise<RebaseResult> {
  const { repository: repo, endpoint, to } = request;
  const record = layeredRecordOf(endpoint);
  if (record === undefined || !endpoint.tags.includes(ENDPOINT_TAG)) {
    throw new EbmError('E_USAGE', `snapshot ${endpoint.id.slice(0, 8)} (${endpoint.dataset}) is not an endpoint snapshot; rebase moves an endpoint onto a new base`, { subject: endpoint.id });
  }
  if (!to.tags.includes(BASE_TAG)) {
    throw new EbmError('E_USAGE', `--to ${to.id.slice(0, 8)} (${to.dataset}) is not a base snapshot (tag base): name the new base's layer snapshot (ebm snapshots --tag base)`, { subject: to.id });
  }
  const top = record.layers[record.layers.length - 1]!;
  if (top.immutable || record.layers.length < 2) {
    throw new EbmError('E_USAGE', `endpoint snapshot ${endpoint.id.slice(0, 8)} has no writable layer above its base: nothing to move`, { subject: endpoint.id });
  }
  if (top.snapshot === null) throw new EbmError('E_SNAPSHOT_NOT_FOUND', `endpoint snapshot ${endpoint.id.slice(0, 8)}: its top layer ${top.id} was never stored`, { subject: endpoint.id });
  if (record.layers[0]!.snapshot === to.id && record.layers.length === 2) {
    throw new EbmError('E_USAGE', `endpoint snapshot ${endpoint.id.slice(0, 8)} is already on base ${to.id.slice(0, 8)}`, { subject: endpoint.id });
  }
  const started = Date.now();
  const lock = await acquireLock(repo, { exclusive: false, operation: `rebase ${endpoint.id.slice(0, 8)}` });
  try {
    const store = await BlobStore.open(repo);
    const merged = await mergedViewOf(repo, store, endpoint);
    const base = await mergedViewOf(repo, store, to);
    const topSnapshot = await loadSnapshot(repo, top.snapshot);
    const diff = diffViews(base.view, merged.view);
    const derived = { op: 'rebase' as const, from: [endpoint.id, to.id], layers: merged.layers.map((l) => l.snapshot.id), sourceTime: endpoint.time };
    const layer = await saveViewSnapshot(repo, store, {
      view: diff.layer,
      ...(merged.root ? { root: merged.root } : {}),
      dataset: mutableLayerDataset(endpoint.dataset, top.id),
      host: endpoint.host,
      tags: [LAYER_TAG],
      translator: topSnapshot.translator,
      source: topSnapshot.source,
      parent: topSnapshot.id,
      derived,
      started,
    });
    const digest = digestOfBase(to);
    const rebased: LayeredRecord = {
      ...record,
      layers: [
        { id: record.layers[0]!.id, kind: 'base', order: 0, immutable: true, ...(digest ? { digest } : {}), snapshot: to.id, action: 'referenced' },
        { id: top.id, kind: top.kind, order: 1, immutable: false, snapshot: layer.id, action: 'stored' },
      ],
    };
    const saved = await saveEndpointSnapshot(repo, {
      record: rebased, dataset: endpoint.dataset, host: endpoint.host, started, parent: endpoint.id,
      tags: endpoint.tags.filter((t) => t !== ENDPOINT_TAG),
      derived,
      totals: [{ files: layer.summary.files, filesRead: 0, bytesRead: 0, bytesAdded: layer.summary.bytesAdded }],
    });
    return { snapshot: saved.snapshot, layer, entries: diff.entries, whiteouts: diff.whiteouts };
  } finally {
    await lock.release();
  }
}
