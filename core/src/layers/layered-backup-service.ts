import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inject, injectable } from 'tsyringe';
import { EbmError, validateLayerReport } from '@ebm/sdk';
import type { LayerInfo, LayerReport, OptionValue, Warning } from '@ebm/sdk';
import { BackupService } from '../backup/backup-service';
import { DiscoverService } from '../discover/discover-service';
import { LayerQueryService } from '../discover/layer-query-service';
import type { LockHandle } from '../locks/lock';
import { EarlyLayers } from './early-layers';
import { checkBaseName, checkLayerRoots, lockAndList, snapshotBaseOutcome } from './layered-backup-steps';
import { MasterIndex } from '../repository/master-index';
import type { Repository } from '../repository/repository';
import type { SnapshotRecord } from '../repository/types';
import { loadSnapshot } from '../snapshots/snapshot-store';
import { baseLayerDataset, BASE_TAG, LAYER_TAG, LAYERED_FORMAT, LAYERED_VERSION, mutableLayerDataset } from './endpoint-snapshot';
import type { EndpointLayerRef, LayeredRecord } from './endpoint-snapshot';
import { saveEndpointSnapshot } from './save-endpoint-snapshot';
import { selectLayers } from './layer-selection';
import { storeBaseUpdate } from './base-update';
import { baseNameTag } from './delta-base';
import { backupMappedLayer, mappedLayerList } from './mapped-layer-backup';
import { resolveBaseSnapshot, snapshotBaseDigest, writeBaseListing } from './snapshot-base';

export interface LayeredBackupRequest {
  readonly repository: Repository;
  /** Layer-provider plugin id, e.g. 'overlay'. */
  readonly provider: string;
  /** The provider's source string (e.g. 'overlayfs:/mnt/web', 'overlay2:/var/lib/docker#<id>'). */
  readonly source: string;
  /** The endpoint's dataset name. */
  readonly dataset: string;
  /** `--layers` words: layer ids or kinds; empty = all. */
  readonly layers?: readonly string[];
  readonly providerOptions?: Readonly<Record<string, OptionValue>>;
  readonly tags?: readonly string[];
  /** Mutable layers ignore their previous snapshot (base layers are never re-read). */
  readonly full?: boolean;
  readonly host?: string;
  readonly compressionLevel?: number;
  readonly signal?: AbortSignal;
  /** Called before each layer is handled (for progress lines). */
  readonly onLayer?: (layer: LayerInfo, action: 'store' | 'reference' | 'previous') => void;
  readonly onWarning?: (warning: Warning) => void;
  /**
   * Names the stack's bottom (base) layer across versions (`--base-name`):
   * its snapshot is tagged `base-name:NAME`, and a version whose digest is
   * not stored yet is stored as the newest older version of that name plus a
   * delta (docs/layers.md, "Base updates").
   */
  readonly baseName?: string;
  /**
   * A layer map's base image as an earlier snapshot (`--base-snapshot`: an
   * id, a unique prefix or `latest:DATASET`) instead of a base directory: the
   * provider gets its listing, and the endpoint snapshot references that
   * snapshot as its base layer (snapshot-base.ts).
   */
  readonly baseSnapshot?: string;
}

/** What happened to one layer. */
export interface LayerOutcome extends EndpointLayerRef {
  readonly dataset: string;
  readonly files: number;
  /** Files and bytes this backup read from the layer (0 for a referenced base or an unselected layer). */
  readonly filesRead: number;
  readonly bytesRead: number;
  readonly bytesAdded: number;
  readonly parent?: string;
  /** A base update: the older version this layer was stored as a delta on. */
  readonly deltaOf?: string;
}

export interface LayeredBackupReport {
  readonly snapshotId: string;
  readonly snapshot: SnapshotRecord;
  readonly report: LayerReport;
  readonly layers: readonly LayerOutcome[];
}

/** The translator every layer directory is read with; xattrs on, so overlay marks survive. */
const LAYER_TRANSLATOR = 'filesystem';

/**
 * Backs up an endpoint layer by layer (docs/layers.md, "Host features"):
 * discovery through the provider's worker, then per layer a snapshot of its
 * root directory through the filesystem translator — an immutable layer once
 * per repository (dataset `layer:<digest>`; when it exists nothing is read),
 * a mutable layer incrementally against its own previous snapshot; a
 * layer-map source's layers share the machine's root, so each is read from
 * the provider's list of its paths (backupMappedLayer) — and finally the
 * endpoint snapshot naming them. A shared lock is held
 * throughout, so no forget can remove a just-stored layer snapshot before
 * the endpoint snapshot that references it exists.
 */
@injectable()
export class LayeredBackupService {
  constructor(
    @inject(BackupService) private readonly backups: BackupService,
    @inject(DiscoverService) private readonly discovery: DiscoverService,
    @inject(LayerQueryService) private readonly queries: LayerQueryService,
  ) {}

  /**
   * Starts the workers a layered backup with `provider` needs: the provider's
   * (discovery) and the filesystem translator's (every layer read is read by
   * it, while the provider may still be walking). Called by backup(); a caller
   * may call it earlier, e.g. before the repository key is derived.
   */
  prewarm(provider: string): void {
    this.backups.prewarm(provider);
    this.backups.prewarm(LAYER_TRANSLATOR);
  }

  async backup(request: LayeredBackupRequest): Promise<LayeredBackupReport> {
    this.prewarm(request.provider);
    if (request.baseSnapshot === undefined) return this.#backup(request, request.providerOptions ?? {});
    const base = await resolveBaseSnapshot(request.repository, request.baseSnapshot);
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ebm-base-listing-'));
    try {
      const listing = path.join(dir, 'base.jsonl');
      await writeBaseListing(request.repository, base, listing, request.signal);
      return await this.#backup(request, { ...request.providerOptions, 'base-listing': listing, 'base-id': snapshotBaseDigest(base.id) }, base);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }

  async #backup(request: LayeredBackupRequest, providerOptions: Readonly<Record<string, OptionValue>>, baseSnapshot?: SnapshotRecord): Promise<LayeredBackupReport> {
    const started = Date.now();
    const repo = request.repository;
    const hostname = request.host ?? os.hostname();
    // The repository's index is needed by every layer stored below; it loads while the provider discovers
    // (BlobStore.open refreshes it under the lock; a failure here is the layer backup's to report).
    MasterIndex.loadShared(repo).catch(() => undefined);
    // The lock and the snapshot list are needed before a layer the provider announces early can be read.
    const locked = lockAndList(repo, request.dataset);
    locked.catch(() => undefined); // awaited below (a failure to lock fails the backup there)
    const early = new EarlyLayers<LayerOutcome>(request.layers, (layer, gate, signal) => locked.then(({ existing }) => {
      request.onLayer?.(layer, 'store');
      const both = request.signal ? AbortSignal.any([request.signal, signal]) : signal;
      return this.#store({ ...request, providerOptions, signal: both }, layer, mutableLayerDataset(request.dataset, layer.id), [LAYER_TAG, ...(request.tags ?? [])], undefined, gate);
    }));
    let lock: LockHandle;
    let existing: SnapshotRecord[];
    let discovered: Awaited<ReturnType<DiscoverService['discover']>>;
    let report: LayerReport;
    let selected: Set<string>;
    const isSnapshotBase = (l: LayerInfo): boolean => baseSnapshot !== undefined && l.immutable && l.digest === snapshotBaseDigest(baseSnapshot.id);
    try {
      discovered = await this.discovery.discover({
        plugin: request.provider,
        source: request.source,
        options: providerOptions,
        ...(request.signal ? { signal: request.signal } : {}),
        // A writable layer announced before the report is read while the provider works on (e.g. digests) the others.
        ...(request.baseName === undefined ? { onLayerReady: (layer: LayerInfo) => early.offer(layer) } : {}),
      });
      if (discovered.pluginKind !== 'layer-provider') throw new EbmError('E_USAGE', `${request.provider} is a ${discovered.pluginKind}, not a layer provider`);
      report = validateLayerReport(discovered.report, discovered.plugin);
      for (const w of discovered.warnings) request.onWarning?.(w);
      if (baseSnapshot !== undefined && !report.layers.some(isSnapshotBase)) {
        throw new EbmError('E_USAGE', `--base-snapshot ${request.baseSnapshot}: ${request.provider} reported no base layer from the snapshot's listing for ${report.source}; a base snapshot applies to layer-map sources (docs/layers.md)`, { subject: 'baseSnapshot' });
      }
      // A layer map's layers share the machine's root: each is read from the provider's list of its paths instead.
      // A base given as a snapshot has no directory: it is referenced, never read.
      checkLayerRoots(report.layers.filter((l) => !isSnapshotBase(l)), report.source, report.layout, report.layout === 'layer-map');
      selected = selectLayers(report.layers, request.layers);
      if (request.baseName !== undefined) checkBaseName(report, request.baseName);
      early.confirm(report, selected, discovered.plugin, discovered.announced);
      ({ lock, existing } = await locked);
    } catch (err) {
      early.abandon(err);
      await early.settled();
      await locked.then(({ lock: l }) => l.release(), () => undefined);
      throw err;
    }
    try {
      const outcomes: LayerOutcome[] = [];
      for (const layer of report.layers) {
        if (request.signal?.aborted) throw new EbmError('E_CANCELLED', `layered backup of ${request.dataset} was cancelled`);
        const startedEarly = early.take(layer.id);
        const outcome = isSnapshotBase(layer)
          ? snapshotBaseOutcome(layer, baseSnapshot!, request)
          : startedEarly !== undefined ? await startedEarly : await this.#layer({ ...request, providerOptions }, layer, selected.has(layer.id), existing, hostname, { provider: { id: discovered.plugin, version: discovered.pluginVersion }, layout: report.layout, report });
        // A digest that appears twice in one stack is stored once: later layers see this one.
        if (outcome.action === 'stored' && outcome.snapshot !== null) existing.push(await loadSnapshot(repo, outcome.snapshot));
        outcomes.push(outcome);
      }
      const record: LayeredRecord = {
        format: LAYERED_FORMAT,
        version: LAYERED_VERSION,
        provider: { id: discovered.plugin, version: discovered.pluginVersion },
        layout: report.layout,
        source: report.source,
        layers: outcomes.map(({ id, kind, order, immutable, digest, snapshot, action }) => ({ id, kind, order, immutable, ...(digest ? { digest } : {}), snapshot, action })),
      };
      if (request.signal?.aborted) throw new EbmError('E_CANCELLED', `layered backup of ${request.dataset} was cancelled before its endpoint snapshot was saved`);
      const parent = existing.filter((s) => s.dataset === request.dataset && s.host === hostname).pop();
      const saved = await saveEndpointSnapshot(repo, {
        record, dataset: request.dataset, host: hostname, tags: request.tags ?? [], started,
        ...(parent ? { parent: parent.id } : {}),
        totals: outcomes,
      });
      return { ...saved, report, layers: outcomes };
    } finally {
      early.abandon(new EbmError('E_CANCELLED', `layered backup of ${request.dataset} ended before this layer was saved`)); // no-op for confirmed layers that ended
      await early.settled();
      await lock.release();
    }
  }

  async #layer(request: LayeredBackupRequest, layer: LayerInfo, selected: boolean, existing: readonly SnapshotRecord[], hostname: string, stack: Pick<LayeredRecord, 'provider' | 'layout'> & { readonly report: LayerReport }): Promise<LayerOutcome> {
    const base = { id: layer.id, kind: layer.kind, order: layer.order, immutable: layer.immutable, ...(layer.digest ? { digest: layer.digest } : {}) };
    const dataset = layer.immutable && layer.digest ? baseLayerDataset(layer.digest) : mutableLayerDataset(request.dataset, layer.id);
    // A base layer is shared by every endpoint of every host: any host's snapshot of that digest will do.
    const previous = existing.filter((s) => s.dataset === dataset && (layer.immutable || s.host === hostname)).pop();
    const unread = { dataset, files: previous?.summary.files ?? 0, filesRead: 0, bytesRead: 0, bytesAdded: 0 };
    if (!selected) {
      request.onLayer?.(layer, 'previous');
      return { ...base, ...unread, snapshot: previous?.id ?? null, action: previous ? 'previous' : 'missing' };
    }
    if (layer.immutable && previous !== undefined) {
      request.onLayer?.(layer, 'reference');
      return { ...base, ...unread, snapshot: previous.id, action: 'referenced' };
    }
    const nameTag = request.baseName !== undefined && layer.order === 0 ? baseNameTag(request.baseName) : undefined;
    const older = nameTag === undefined ? undefined : existing.filter((s) => s.tags.includes(nameTag) && s.tags.includes(BASE_TAG) && s.dataset !== dataset).pop();
    request.onLayer?.(layer, 'store');
    if (nameTag !== undefined && older !== undefined) {
      const update = await storeBaseUpdate(this.backups, {
        repository: request.repository, layer, dataset, older, nameTag, host: hostname, provider: stack.provider, layout: stack.layout,
        ...(request.compressionLevel !== undefined ? { compressionLevel: request.compressionLevel } : {}),
        ...(request.signal ? { signal: request.signal } : {}),
        ...(request.onWarning ? { onWarning: request.onWarning } : {}),
      });
      return {
        ...base, dataset, snapshot: update.snapshot.id, action: 'stored', deltaOf: older.id,
        files: update.snapshot.summary.files, filesRead: update.filesRead, bytesRead: update.bytesRead, bytesAdded: update.bytesAdded,
      };
    }
    const tags = layer.immutable ? [BASE_TAG, LAYER_TAG, ...(nameTag ? [nameTag] : [])] : [LAYER_TAG, ...(request.tags ?? [])];
    return this.#store(request, layer, dataset, tags, stack.layout === 'layer-map' ? stack : undefined);
  }

  /**
   * Reads one layer and stores it as a snapshot of `dataset`: through its
   * root directory, or, for a layer map (`mapped`), from the provider's list
   * of its paths. `commitGate`: see BackupService (a layer started early).
   */
  async #store(request: LayeredBackupRequest, layer: LayerInfo, dataset: string, tags: readonly string[], mapped: (Pick<LayeredRecord, 'provider'> & { readonly report: LayerReport }) | undefined, commitGate?: () => Promise<void>): Promise<LayerOutcome> {
    const backup = {
      repository: request.repository,
      translator: LAYER_TRANSLATOR,
      source: layer.root!,
      dataset,
      tags,
      options: { xattrs: true },
      full: Boolean(request.full),
      host: request.host ?? os.hostname(),
      ...(request.compressionLevel !== undefined ? { compressionLevel: request.compressionLevel } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
      ...(request.onWarning ? { onWarning: request.onWarning } : {}),
      ...(commitGate ? { commitGate } : {}),
    };
    const done = mapped === undefined ? await this.backups.backup(backup) : await backupMappedLayer(this.backups, this.queries, {
      backup, list: mappedLayerList(mapped.report, layer),
      query: { plugin: mapped.provider.id, source: request.source, layer: layer.id, options: request.providerOptions ?? {}, report: mapped.report, ...(request.signal ? { signal: request.signal } : {}) },
    });
    const s = done.snapshot.summary;
    return {
      id: layer.id, kind: layer.kind, order: layer.order, immutable: layer.immutable, ...(layer.digest ? { digest: layer.digest } : {}),
      dataset, snapshot: done.snapshotId, action: 'stored',
      files: s.files, filesRead: s.filesRead, bytesRead: s.bytesRead, bytesAdded: s.bytesAdded,
      ...(done.parent ? { parent: done.parent } : {}),
    };
  }
}
