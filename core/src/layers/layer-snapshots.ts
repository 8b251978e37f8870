import { EbmError, isEbmError } from '@ebm/sdk';
import type { Repository } from '../repository/repository';
import type { SnapshotRecord } from '../repository/types';
import { loadSnapshot } from '../snapshots/snapshot-store';
import { layeredRecordOf } from './endpoint-snapshot';
import { findLayer } from './layer-selection';

/**
 * Browsing endpoint → layer → files: the snapshot of one layer of an
 * endpoint snapshot (`ebm ls ENDPOINT --layer ID`). E_USAGE for an ordinary
 * snapshot or an unknown layer id; E_SNAPSHOT_NOT_FOUND when the layer
 * snapshot is missing.
 */
export async function layerSnapshotOf(repo: Repository, endpoint: SnapshotRecord, layerId: string): Promise<SnapshotRecord> {
  const record = layeredRecordOf(endpoint);
  if (record === undefined) throw new EbmError('E_USAGE', `--layer ${layerId}: snapshot ${endpoint.id.slice(0, 8)} is not a layered endpoint snapshot`, { subject: endpoint.id });
  const ref = findLayer(record.layers, layerId);
  const missing = (): EbmError => new EbmError('E_SNAPSHOT_NOT_FOUND', `layer ${ref.id} of endpoint snapshot ${endpoint.id.slice(0, 8)} has no stored snapshot${ref.snapshot ? ` (${ref.snapshot.slice(0, 8)} is gone)` : ''}`, { subject: ref.snapshot ?? ref.id });
  if (ref.snapshot === null) throw missing();
  let snapshot: SnapshotRecord;
  try {
    snapshot = await loadSnapshot(repo, ref.snapshot);
  } catch (err) {
    if (isEbmError(err) && err.code === 'E_STORAGE_NOT_FOUND') throw missing();
    throw err;
  }
  // A base stored as an older base plus a delta has no tree of its own: name its parts.
  const parts = layeredRecordOf(snapshot)?.layers;
  if (parts !== undefined) {
    throw new EbmError('E_USAGE', `layer ${ref.id} of endpoint snapshot ${endpoint.id.slice(0, 8)} is stored as layers ${parts.map((l) => l.id).join(', ')} (snapshot ${snapshot.id.slice(0, 8)}): list one with ebm ls ${snapshot.id.slice(0, 8)} --layer ID`, { subject: ref.id });
  }
  return snapshot;
}
