import { EbmError } from '@ebm/sdk';
import type { LayerInfo, LayerReport } from '@ebm/sdk';
import { acquireLock } from '../locks/lock';
import type { LockHandle } from '../locks/lock';
import type { Repository } from '../repository/repository';
import type { SnapshotRecord } from '../repository/types';
import { listSnapshots } from '../snapshots/snapshot-store';
import type { LayeredBackupRequest, LayerOutcome } from './layered-backup-service';
import { snapshotBaseDigest } from './snapshot-base';

/* Steps of a layered backup (LayeredBackupService) that need none of its services. */

/**
 * Takes the backup's shared lock and then lists the snapshots (under it, so a
 * prune cannot remove what the list names); releases the lock when the
 * listing fails.
 */
export async function lockAndList(repo: Repository, dataset: string): Promise<{ lock: LockHandle; existing: SnapshotRecord[] }> {
  const lock = await acquireLock(repo, { exclusive: false, operation: `backup ${dataset} (layers)` });
  try {
    return { lock, existing: (await listSnapshots(repo)).snapshots };
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/** --base-name names the bottom layer, which must be a base (immutable, with a digest). */
export function checkBaseName(report: LayerReport, name: string): void {
  const bottom = report.layers[0]!;
  if (name === '' || /[\s,]/.test(name)) throw new EbmError('E_USAGE', `--base-name ${JSON.stringify(name)}: give a non-empty name without spaces or commas`);
  if (!bottom.immutable || bottom.digest === undefined) {
    throw new EbmError('E_USAGE', `--base-name ${name}: the bottom layer ${bottom.id} of ${report.source} is not an immutable layer with a digest, so it cannot be a versioned base`, { subject: bottom.id });
  }
}

/**
 * Every layer of an overlay-style source is read through its own directory
 * (`root`). A layer without one, or layers sharing one, would need the
 * provider's file lists — which the host reads for layer-map sources only
 * (mapped-layer-backup.ts): refused rather than backing up the whole root
 * per layer. `shared` allows layers to share a directory (a layer map).
 */
export function checkLayerRoots(layers: readonly LayerInfo[], source: string, layout: string, shared: boolean): void {
  const seen = new Map<string, string>();
  for (const l of layers) {
    if (l.root === undefined) throw new EbmError('E_NOT_SUPPORTED', `layer ${l.id} of ${source} has no directory of its own; layered backups read each layer through its root directory`, { subject: l.id });
    const other = seen.get(l.root);
    if (other !== undefined && !shared) {
      throw new EbmError('E_NOT_SUPPORTED', `layers ${other} and ${l.id} of ${source} share the directory ${l.root} (a ${layout} source): layered backups of such sources need the provider's file lists, not supported yet; back the source up with the filesystem translator instead`, { subject: l.id });
    }
    seen.set(l.root, l.id);
  }
}

/** The base layer of a layer map whose base image is an earlier snapshot: that snapshot, referenced; nothing read. */
export function snapshotBaseOutcome(layer: LayerInfo, snapshot: SnapshotRecord, request: LayeredBackupRequest): LayerOutcome {
  request.onLayer?.(layer, 'reference');
  return {
    id: layer.id, kind: layer.kind, order: layer.order, immutable: true, digest: snapshotBaseDigest(snapshot.id),
    dataset: snapshot.dataset, snapshot: snapshot.id, action: 'referenced',
    files: snapshot.summary.files, filesRead: 0, bytesRead: 0, bytesAdded: 0,
  };
}
