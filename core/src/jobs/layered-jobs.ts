import { LAYER_KINDS } from '@ebm/sdk';
import type { JsonValue, ProgressUpdate, Warning } from '@ebm/sdk';
import type { LayeredBackupService } from '../layers/layered-backup-service';
import type { LayeredRestoreService } from '../layers/layered-restore-service';
import { layeredRecordOf, mutableLayerDataset } from '../layers/endpoint-snapshot';
import type { EndpointLayerRef } from '../layers/endpoint-snapshot';
import type { Repository } from '../repository/repository';
import type { SnapshotRecord } from '../repository/types';
import { applyForgetPolicy } from '../snapshots/forget-policy';
import type { ForgetPolicy } from '../snapshots/forget-policy';
import type { BackupJobRequest, LayeredJobSpec, RestoreJobRequest } from './job-types';

/**
 * The job side of layered endpoints (docs/layers.md, "In the host process"):
 * a layered dataset's backup, an endpoint snapshot's restore, and the
 * retention of a layered dataset. The executor calls these; the layer
 * services do the work.
 */

export interface LayeredJobContext {
  readonly jobId: string;
  readonly signal: AbortSignal;
  readonly host?: string;
  readonly log: (level: 'info' | 'warn', message: string, fields?: Record<string, JsonValue>) => void;
  readonly onProgress: (p: ProgressUpdate) => void;
}

/** A layered dataset's backup: the endpoint snapshot, and per layer what was stored, referenced or left as it was. */
export async function runLayeredBackup(service: LayeredBackupService, repo: Repository, request: BackupJobRequest & { layered: LayeredJobSpec }, compressionLevel: number | undefined, ctx: LayeredJobContext): Promise<Record<string, JsonValue>> {
  const report = await service.backup({
    repository: repo,
    provider: request.translator,
    source: request.source,
    dataset: request.layered.endpoint,
    layers: request.layered.layers,
    ...(request.layered.baseSnapshot !== undefined ? { baseSnapshot: request.layered.baseSnapshot } : {}),
    providerOptions: request.options,
    tags: request.tags,
    full: request.full,
    ...(ctx.host !== undefined ? { host: ctx.host } : {}),
    ...(compressionLevel !== undefined ? { compressionLevel } : {}),
    signal: ctx.signal,
    onLayer: (layer, action) => ctx.log('info', `layer ${layer.order} ${layer.id} (${layer.kind}): ${action === 'store' ? 'reading' : action === 'reference' ? 'base already stored, referenced' : 'not selected'}`),
    onWarning: (w: Warning) => ctx.log('warn', w.message, { path: w.path, code: w.code }),
  });
  const s = report.snapshot.summary;
  ctx.log('info', `endpoint snapshot ${report.snapshotId.slice(0, 8)} of ${request.layered.endpoint} saved (${report.layers.map((l) => `${l.id} ${l.action}`).join(', ')})`);
  return {
    snapshotId: report.snapshotId,
    ...(report.snapshot.parent !== undefined ? { parent: report.snapshot.parent } : {}),
    endpoint: request.layered.endpoint,
    files: s.files,
    bytesRead: s.bytesRead,
    bytesAdded: s.bytesAdded,
    warnings: s.warnings.length,
    layers: report.layers.map((l) => ({
      id: l.id, kind: l.kind, order: l.order, action: l.action, dataset: l.dataset, snapshot: l.snapshot,
      ...(l.parent !== undefined ? { parent: l.parent } : {}),
      filesRead: l.filesRead, bytesRead: l.bytesRead, bytesAdded: l.bytesAdded,
    })),
  };
}

/** The layer snapshots a layered backup stored (what its verification re-reads), from its job result. */
export function storedLayers(result: Record<string, JsonValue> | undefined): { snapshot: string; parent?: string }[] {
  const layers = result?.layers;
  if (!Array.isArray(layers)) return [];
  const out: { snapshot: string; parent?: string }[] = [];
  for (const l of layers) {
    const x = l as Record<string, JsonValue>;
    if (x.action === 'stored' && typeof x.snapshot === 'string') out.push({ snapshot: x.snapshot, ...(typeof x.parent === 'string' ? { parent: x.parent } : {}) });
  }
  return out;
}

/** An endpoint snapshot restored flattened (default), natively (one directory per layer), or one layer. */
export async function runLayeredRestore(service: LayeredRestoreService, repo: Repository, snapshot: SnapshotRecord, request: RestoreJobRequest, ctx: LayeredJobContext): Promise<Record<string, JsonValue>> {
  const mode = request.layer !== undefined ? 'layer' : request.native ? 'native' : 'flatten';
  const r = await service.restore({
    repository: repo, snapshot, target: request.target, mode: request.native ? 'native' : 'flatten',
    ...(request.layer !== undefined ? { layer: request.layer } : {}),
    includes: request.includes, overwrite: request.overwrite, signal: ctx.signal, onProgress: ctx.onProgress,
  });
  for (const w of r.warnings) ctx.log('warn', w.message, { path: w.path, code: w.code });
  ctx.log('info', `restored endpoint snapshot ${snapshot.id.slice(0, 8)} (${mode}) to ${request.target}`);
  return {
    snapshotId: snapshot.id, target: request.target, mode, files: r.files, bytes: r.bytes, warnings: r.warnings.length,
    ...(r.layers.length > 0 ? { layers: r.layers.map((l) => ({ ...l })) } : {}),
    ...(r.mountOptions !== undefined ? { mountOptions: r.mountOptions } : {}),
  };
}

/**
 * The snapshots a layered dataset's retention would remove (before the
 * layer-reference rule, which the caller applies over the whole listing):
 * - the endpoint's snapshots that selected exactly this dataset's layers
 *   (read and stored, or referenced) — the ones its own backups made — by the policy;
 * - the snapshots of the writable layers it selects (`<endpoint>#layer:<id>`), by the policy.
 * Base layers (`layer:<digest>`) are shared by every endpoint and never removed here.
 */
export function layeredRetentionCandidates(all: readonly SnapshotRecord[], spec: LayeredJobSpec, policy: ForgetPolicy): SnapshotRecord[] {
  const own = all.filter((s) => s.dataset === spec.endpoint && ownSelection(s, spec.layers));
  const layerIds = new Set<string>();
  for (const s of own) for (const l of recordLayers(s)) if (!l.immutable && selects(l, spec.layers)) layerIds.add(l.id);
  const remove = applyForgetPolicy(own, policy).remove.map((r) => r.snapshot);
  for (const id of layerIds) {
    const dataset = mutableLayerDataset(spec.endpoint, id);
    remove.push(...applyForgetPolicy(all.filter((s) => s.dataset === dataset), policy).remove.map((r) => r.snapshot));
  }
  return remove;
}

/** Whether a layer is chosen by `layers` words (ids or kinds; none = every layer), as `--layers` chooses. */
function selects(layer: Pick<EndpointLayerRef, 'id' | 'kind'>, words: readonly string[]): boolean {
  if (words.length === 0) return true;
  return words.some((w) => w === layer.id || ((LAYER_KINDS as readonly string[]).includes(w) && w === layer.kind));
}

/** An endpoint snapshot made with this selection: its read-or-referenced layers are exactly the selected ones. */
function ownSelection(s: SnapshotRecord, words: readonly string[]): boolean {
  const layers = recordLayers(s);
  return layers.length > 0 && layers.every((l) => selects(l, words) === (l.action === 'stored' || l.action === 'referenced'));
}

function recordLayers(s: SnapshotRecord): readonly EndpointLayerRef[] {
  try {
    return layeredRecordOf(s)?.layers ?? [];
  } catch {
    return [];
  }
}
