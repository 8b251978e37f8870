import { EbmError } from '@ebm/sdk';
import { acquireLock } from '../locks/lock';
import { BlobStore } from '../repository/blob-store';
import type { Repository } from '../repository/repository';
import type { SnapshotRecord } from '../repository/types';
import { saveViewSnapshot } from './derived-snapshot';
import { saveDeltaBase } from './delta-base';
import type { DeltaBase } from './delta-base';
import { BASE_TAG, ENDPOINT_TAG, layeredRecordOf } from './endpoint-snapshot';
import { mergedViewOf } from './layer-stack';
import type { StackLayer } from './layer-stack';

export interface SynthesizeFullRequest {
  readonly repository: Repository;
  /** A layered snapshot: an endpoint, or a base stored as an older base plus a delta. */
  readonly snapshot: SnapshotRecord;
  /** Default: for a base, its own dataset `layer:<digest>`; for an endpoint, `<endpoint>#full`. */
  readonly dataset?: string;
  readonly tags?: readonly string[];
}

export interface SynthesizeFullResult {
  readonly snapshot: SnapshotRecord;
  /** The layer snapshots whose trees were merged, bottom first. */
  readonly layers: readonly StackLayer[];
}

/**
 * Synthetic full (`ebm synthesize SNAP`): an ORDINARY snapshot whose tree is
 * the layered snapshot's merged view — its leaf layers' trees merged with
 * overlay's rules and written as tree blobs. Content blobs are referenced,
 * never read; no source is touched. The result restores, exports and browses
 * like any snapshot, without the layer machinery. Of a base (tag `base`) it
 * is that base's standalone form, in the base's own dataset by default: later
 * endpoint backups reference it (the newest snapshot of the digest), and the
 * older version the delta form names can go once nothing else names it.
 */
export async function synthesizeFull(request: SynthesizeFullRequest): Promise<SynthesizeFullResult> {
  const { repository: repo, snapshot } = request;
  if (layeredRecordOf(snapshot) === undefined) {
    throw new EbmError('E_USAGE', `snapshot ${snapshot.id.slice(0, 8)} (${snapshot.dataset}) is not layered: it already is a full snapshot`, { subject: snapshot.id });
  }
  const isBase = snapshot.tags.includes(BASE_TAG);
  const started = Date.now();
  const lock = await acquireLock(repo, { exclusive: false, operation: `synthesize ${snapshot.id.slice(0, 8)}` });
  try {
    const store = await BlobStore.open(repo);
    const merged = await mergedViewOf(repo, store, snapshot);
    const top = merged.layers[merged.layers.length - 1]!.snapshot;
    const saved = await saveViewSnapshot(repo, store, {
      view: merged.view,
      ...(merged.root ? { root: merged.root } : {}),
      dataset: request.dataset ?? (isBase ? snapshot.dataset : `${snapshot.dataset}#full`),
      host: snapshot.host,
      tags: [...snapshot.tags.filter((t) => t !== ENDPOINT_TAG), ...(request.tags ?? [])],
      translator: top.translator,
      source: snapshot.source,
      derived: { op: 'synthetic-full', from: [snapshot.id], layers: merged.layers.map((l) => l.snapshot.id), sourceTime: snapshot.time },
      started,
    });
    return { snapshot: saved, layers: merged.layers };
  } finally {
    await lock.release();
  }
}

export interface SynthesizeIncrementalRequest {
  readonly repository: Repository;
  /** The bottom of the chain: the version the result stays relative to. */
  readonly from: SnapshotRecord;
  /** A layered base whose layers begin with `from`'s layers. */
  readonly to: SnapshotRecord;
}

/**
 * Synthetic incremental (`ebm synthesize --collapse A..B`): for a base stored
 * as a chain of deltas (B = A + d1 + … + dn), one delta C with A + C = B,
 * stored as a new layered snapshot of B's dataset (layers `previous` → A,
 * `delta` → C). Endpoints backed up later reference it (the newest snapshot
 * of the digest); the chain's middle can go once nothing names it. Only
 * trees are read.
 */
export async function synthesizeIncremental(request: SynthesizeIncrementalRequest): Promise<DeltaBase & { readonly collapsed: readonly StackLayer[] }> {
  const { repository: repo, from, to } = request;
  const record = layeredRecordOf(to);
  if (record === undefined || !to.tags.includes(BASE_TAG)) {
    throw new EbmError('E_USAGE', `--collapse ${from.id.slice(0, 8)}..${to.id.slice(0, 8)}: ${to.id.slice(0, 8)} (${to.dataset}) is not a base stored as layers; collapse works on a base's delta chain`, { subject: to.id });
  }
  const started = Date.now();
  const lock = await acquireLock(repo, { exclusive: false, operation: `synthesize --collapse ${to.id.slice(0, 8)}` });
  try {
    const store = await BlobStore.open(repo);
    const below = await mergedViewOf(repo, store, from);
    const target = await mergedViewOf(repo, store, to);
    const prefix = below.layers.map((l) => l.snapshot.id);
    const chain = target.layers.map((l) => l.snapshot.id);
    if (prefix.some((id, i) => chain[i] !== id)) {
      throw new EbmError('E_USAGE', `--collapse ${from.id.slice(0, 8)}..${to.id.slice(0, 8)}: ${to.id.slice(0, 8)} is not built on ${from.id.slice(0, 8)} (its layers are ${chain.map((id) => id.slice(0, 8)).join(', ')})`, { subject: to.id });
    }
    const collapsed = target.layers.slice(prefix.length);
    if (collapsed.length < 2) {
      throw new EbmError('E_USAGE', `--collapse ${from.id.slice(0, 8)}..${to.id.slice(0, 8)}: ${collapsed.length} layer(s) above ${from.id.slice(0, 8)}; nothing to collapse`, { subject: to.id });
    }
    const top = collapsed[collapsed.length - 1]!.snapshot;
    const result = await saveDeltaBase(repo, store, {
      older: from, olderView: below.view, target: target.view, ...(target.root ? { targetRoot: target.root } : {}),
      dataset: to.dataset, tags: to.tags, host: to.host,
      translator: top.translator, source: top.source,
      provider: record.provider, layout: record.layout,
      op: 'synthetic-incremental', from: [from.id, to.id], layers: collapsed.map((l) => l.snapshot.id), sourceTime: to.time, started,
    });
    return { ...result, collapsed };
  } finally {
    await lock.release();
  }
}
