import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { inject, injectable } from 'tsyringe';
import { decodeTree, EbmError } from '@ebm/sdk';
import type { ProgressUpdate, RestoreTaskResult, Warning } from '@ebm/sdk';
import { RestoreService } from '../restore/restore-service';
import { RepositoryBlobServer } from '../backup/repository-blob-server';
import { acquireLock } from '../locks/lock';
import { BlobStore } from '../repository/blob-store';
import type { Repository } from '../repository/repository';
import type { SnapshotRecord } from '../repository/types';
import { layeredRecordOf } from './endpoint-snapshot';
import type { EndpointLayerRef, LayeredRecord } from './endpoint-snapshot';
import { findLayer } from './layer-selection';
import { expandLayerStack } from './layer-stack';
import type { StackLayer } from './layer-stack';
import { mergeLayerTrees } from './merge-layer-trees';
import { MergedTreeServer } from './merged-tree-server';

export type LayeredRestoreMode = 'flatten' | 'native';

export interface LayeredRestoreRequest {
  readonly repository: Repository;
  /** An endpoint snapshot (one with `meta.layered`). */
  readonly snapshot: SnapshotRecord;
  readonly target: string;
  readonly mode: LayeredRestoreMode;
  /** Restore this layer alone, as stored (whiteouts and overlay xattrs included). */
  readonly layer?: string;
  readonly includes?: readonly string[];
  readonly overwrite?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ProgressUpdate) => void;
}

export interface LayeredRestoreResult {
  readonly files: number;
  readonly dirs: number;
  readonly bytes: number;
  readonly warnings: readonly Warning[];
  /** Per restored layer (native, --layer): the directory it went to. */
  readonly layers: readonly { readonly id: string; readonly kind: string; readonly order: number; readonly snapshot: string; readonly dir: string }[];
  /** Native: the overlay mount options that present the restored layers as the endpoint (lowerdir uppermost first). */
  readonly mountOptions?: string;
}

/**
 * Restores an endpoint snapshot (docs/layers.md, "Host features"):
 * - flatten (default): the merged view — the layer trees merged on the host
 *   with overlay's rules (mergeLayerTrees) and restored through the
 *   filesystem translator in one pass; nothing overlay-specific reaches the
 *   target;
 * - native: each layer into its own directory `<order>-<id>` under the
 *   target, as stored (whiteouts as 0/0 devices, overlay xattrs), so the
 *   directories mount as the same overlay;
 * - one layer (`layer`): that layer alone, as stored, into the target.
 */
@injectable()
export class LayeredRestoreService {
  constructor(@inject(RestoreService) private readonly restores: RestoreService) {}

  async restore(request: LayeredRestoreRequest): Promise<LayeredRestoreResult> {
    const record = layeredRecordOf(request.snapshot);
    if (record === undefined) throw new EbmError('E_USAGE', `snapshot ${request.snapshot.id.slice(0, 8)} is not a layered endpoint snapshot (it has no layers); restore it without --flatten/--native/--layer`, { subject: request.snapshot.id });
    const layers = request.layer !== undefined ? await oneLayer(request.repository, request.snapshot, record, request.layer) : await expandLayerStack(request.repository, request.snapshot);
    if (request.layer !== undefined || request.mode === 'native') return this.#separate(request, record, layers);
    return this.#flatten(request, layers);
  }

  async #separate(request: LayeredRestoreRequest, record: LayeredRecord, layers: readonly Loaded[]): Promise<LayeredRestoreResult> {
    const totals = { files: 0, dirs: 0, bytes: 0 };
    const warnings: Warning[] = [];
    const done: { id: string; kind: string; order: number; snapshot: string; dir: string }[] = [];
    if (request.layer === undefined) await fs.mkdir(request.target, { recursive: true });
    for (const { ref, snapshot } of layers) {
      const dir = request.layer !== undefined ? request.target : path.join(request.target, layerDirName(ref));
      const r: RestoreTaskResult = await this.restores.restore({
        repository: request.repository, snapshot, target: dir,
        includes: request.includes ?? [], overwrite: Boolean(request.overwrite),
        ...(request.signal ? { signal: request.signal } : {}),
        ...(request.onProgress ? { onProgress: request.onProgress } : {}),
      });
      totals.files += r.files;
      totals.dirs += r.dirs;
      totals.bytes += r.bytes;
      warnings.push(...r.warnings);
      done.push({ id: ref.id, kind: ref.kind, order: ref.order, snapshot: snapshot.id, dir });
    }
    const mountOptions = request.layer === undefined && record.layout !== 'layer-map' ? overlayMountOptions(done) : undefined;
    return { ...totals, warnings, layers: done, ...(mountOptions ? { mountOptions } : {}) };
  }

  async #flatten(request: LayeredRestoreRequest, layers: readonly Loaded[]): Promise<LayeredRestoreResult> {
    const repo = request.repository;
    const top = layers[layers.length - 1]!.snapshot;
    this.restores.prewarm(top.translator.id); // its start-up overlaps loading the index and merging the layers' trees
    const lock = await acquireLock(repo, { exclusive: false, operation: `restore ${request.snapshot.id.slice(0, 8)} (flattened)` });
    try {
      const store = await BlobStore.open(repo);
      const merged = await mergeLayerTrees(
        layers.map(({ snapshot }) => ({ tree: snapshot.tree, ...(snapshot.root ? { root: snapshot.root } : {}) })),
        async (id) => decodeTree(await store.loadBlob(id), `tree ${id.slice(0, 12)}`).entries,
        repo.keys.id,
      );
      const r = await this.restores.restoreFrom({
        snapshot: {
          id: request.snapshot.id, time: request.snapshot.time, source: request.snapshot.source, dataset: request.snapshot.dataset,
          tree: merged.tree, ...(merged.root ? { root: merged.root } : {}), translator: { id: top.translator.id },
        },
        blobs: new MergedTreeServer(merged.blobs, new RepositoryBlobServer(store, false)),
        target: request.target,
        includes: request.includes ?? [],
        overwrite: Boolean(request.overwrite),
        ...(request.signal ? { signal: request.signal } : {}),
        ...(request.onProgress ? { onProgress: request.onProgress } : {}),
      });
      return { files: r.files, dirs: r.dirs, bytes: r.bytes, warnings: [...merged.warnings, ...r.warnings], layers: [] };
    } finally {
      await lock.release();
    }
  }
}

type Loaded = StackLayer;

/**
 * `--layer ID`: a layer of the record, or of a nested layered layer (a base
 * stored as an older base plus a delta: `lower-0.previous`, `lower-0.delta`).
 * A nested layer named by its outer id is refused, naming its parts: it is
 * not one stored layer.
 */
async function oneLayer(repo: Repository, endpoint: SnapshotRecord, record: LayeredRecord, id: string): Promise<Loaded[]> {
  const outer = record.layers.find((l) => l.id === id);
  const found = outer !== undefined ? await expandLayerStack(repo, endpoint, [outer]) : (await expandLayerStack(repo, endpoint)).filter((l) => l.ref.id === id);
  if (found.length === 0) findLayer(record.layers, id); // throws E_USAGE listing the layers
  if (found.length > 1) {
    throw new EbmError('E_USAGE', `--layer ${id}: that layer is stored as ${found.length} layers (${found.map((l) => l.ref.id).join(', ')}); name one of them, or restore the endpoint flattened`, { subject: id });
  }
  return found;
}

/** `<order>-<id>`, the id made a safe file name (Docker ids hold ':'). */
export function layerDirName(ref: Pick<EndpointLayerRef, 'order' | 'id'>): string {
  return `${ref.order}-${ref.id.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

/** lowerdir (uppermost first) and, when the top layer is the writable one, upperdir. */
function overlayMountOptions(layers: readonly { readonly kind: string; readonly dir: string }[]): string {
  const top = layers[layers.length - 1];
  const hasUpper = top !== undefined && top.kind === 'upper' && layers.length > 1;
  const lower = (hasUpper ? layers.slice(0, -1) : layers).map((l) => l.dir).reverse();
  return `lowerdir=${lower.join(':')}${hasUpper ? `,upperdir=${top.dir}` : ''}`;
}
