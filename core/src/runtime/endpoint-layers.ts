import { EbmError, isEbmError } from '@ebm/sdk';
import { layeredRecordOf } from '../layers/endpoint-snapshot';
import type { LayeredRecord } from '../layers/endpoint-snapshot';
import { findLayer } from '../layers/layer-selection';
import type { Repository } from '../repository/repository';
import type { SnapshotRecord } from '../repository/types';
import { loadSnapshot } from '../snapshots/snapshot-store';
import type { EndpointLayers, EndpointLayerSummary } from '../api/runtime-facade';

/**
 * Browsing endpoint → layer → files through the host (docs/layers.md,
 * "In the host process"): an endpoint snapshot's layers, and the layer
 * snapshot a browse with `layer` lists.
 */

/** The layered record of an endpoint snapshot; E_USAGE (400) for an ordinary snapshot. */
export function endpointRecord(snapshot: SnapshotRecord): LayeredRecord {
  const record = layeredRecordOf(snapshot);
  if (record === undefined) {
    throw new EbmError('E_USAGE', `snapshot ${snapshot.id.slice(0, 8)} (${snapshot.dataset}) is not a layered endpoint snapshot: it has no layers; browse it without layer`, { subject: snapshot.id });
  }
  return record;
}

/** Every layer, bottom first, with its layer snapshot's dataset and size when that snapshot exists. */
export async function describeEndpointLayers(repo: Repository, repository: string, snapshot: SnapshotRecord): Promise<EndpointLayers> {
  const record = endpointRecord(snapshot);
  const layers: EndpointLayerSummary[] = [];
  for (const l of record.layers) {
    const base: EndpointLayerSummary = { id: l.id, kind: l.kind, order: l.order, immutable: l.immutable, ...(l.digest ? { digest: l.digest } : {}), snapshot: l.snapshot, action: l.action };
    const stored = l.snapshot !== null ? await loadLayer(repo, l.snapshot) : undefined;
    layers.push(stored ? { ...base, dataset: stored.dataset, files: stored.summary.files, bytesTotal: stored.summary.bytesTotal } : base);
  }
  return { snapshot: snapshot.id, repository, dataset: snapshot.dataset, provider: record.provider.id, layout: record.layout, source: record.source, layers };
}

/** The snapshot of one layer of an endpoint snapshot: E_USAGE for an unknown layer, E_SNAPSHOT_NOT_FOUND when it was never stored or is gone. */
export async function layerSnapshot(repo: Repository, endpoint: SnapshotRecord, layerId: string): Promise<SnapshotRecord> {
  const ref = findLayer(endpointRecord(endpoint).layers, layerId);
  const stored = ref.snapshot !== null ? await loadLayer(repo, ref.snapshot) : undefined;
  if (stored === undefined) {
    throw new EbmError('E_SNAPSHOT_NOT_FOUND', `layer ${ref.id} of endpoint snapshot ${endpoint.id.slice(0, 8)} has no snapshot (${ref.snapshot === null ? 'never stored' : `${ref.snapshot.slice(0, 8)} is gone`})`, { subject: ref.id });
  }
  return stored;
}

async function loadLayer(repo: Repository, id: string): Promise<SnapshotRecord | undefined> {
  try {
    return await loadSnapshot(repo, id);
  } catch (err) {
    if (isEbmError(err) && err.code === 'E_STORAGE_NOT_FOUND') return undefined;
    throw err;
  }
}
