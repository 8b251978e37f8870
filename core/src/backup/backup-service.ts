import * as os from 'node:os';
import { randomUUID } from 'node:crypto';
import { inject, injectable } from 'tsyringe';
import { BackupTaskResult, EbmError, OptionValue, ProgressUpdate, Warning } from '@ebm/sdk';
import { PluginHost } from '../plugin-host/plugin-host';
import { PluginRegistry, prewarmPlugin } from '../plugin-host/plugin-registry';
import { Repository } from '../repository/repository';
import { BlobStore } from '../repository/blob-store';
import { acquireLock } from '../locks/lock';
import { latestForDataset, saveSnapshot } from '../snapshots/snapshot-store';
import type { Snapshot, SnapshotRecord } from '../repository/types';
import { RepositoryBlobServer } from './repository-blob-server';
import type { JournalCut } from '../journal/change-journal';

export interface BackupRequest {
  readonly repository: Repository;
  /** Translator plugin id, e.g. 'filesystem'. */
  readonly translator: string;
  readonly source: string;
  readonly dataset: string;
  readonly tags?: readonly string[];
  readonly options?: Readonly<Record<string, OptionValue>>;
  /** zstd level (0..22) for the data this backup adds; default the repository's. Old data keeps its level. */
  readonly compressionLevel?: number;
  /** Ignore the parent snapshot: read everything (a new baseline). */
  readonly full?: boolean;
  readonly host?: string;
  /** Id for the plugin host's events (the queue passes its job id); random by default. */
  readonly jobId?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ProgressUpdate) => void;
  readonly onWarning?: (warning: Warning) => void;
  /** The dataset's change journal (host process only): its cut decides whether the translator gets ChangedPaths. */
  readonly changeJournal?: { cut(parentId: string | undefined, full: boolean): Promise<JournalCut> };
  /**
   * Awaited once the data and the index are written, before the snapshot is
   * saved; when it rejects, the backup fails with that error and saves no
   * snapshot (a layered backup reads a layer a provider announced before its
   * report confirmed it).
   */
  readonly commitGate?: () => Promise<void>;
}

export interface BackupReport {
  readonly snapshotId: string;
  readonly snapshot: SnapshotRecord;
  readonly parent?: string;
}

/**
 * Bytes of offered blob data a plugin may have unanswered before it waits
 * (BlobShipper). 4 MiB keeps a first backup as fast as 8 MiB did, and its
 * ring (twice the window, all of it touched) 8 MiB smaller: peak RSS of a
 * first backup of the bench's `mixed` corpus 213–220 → 195–203 MiB.
 */
const WINDOW_BYTES = 4 * 1024 * 1024;

/**
 * Runs one backup: shared lock → parent lookup → translator in a worker →
 * packs and index → snapshot. Write order (packs, index, snapshot) keeps the
 * repository valid at every instant; a failed or cancelled backup removes the
 * packs it wrote that no index names, and never writes a snapshot.
 */
@injectable()
export class BackupService {
  constructor(
    @inject(PluginHost) private readonly host: PluginHost,
    @inject(PluginRegistry) private readonly registry: PluginRegistry,
  ) {}

  /** Warms a worker of plugin `pluginId` for a job about to follow (PluginHost.prewarm); an unknown plugin is left to that job to report. */
  prewarm(pluginId: string): void {
    prewarmPlugin(this.host, this.registry, pluginId);
  }

  async backup(request: BackupRequest): Promise<BackupReport> {
    const started = Date.now();
    const repo = request.repository;
    const descriptor = this.registry.get(request.translator);
    if (descriptor.manifest.kind !== 'translator') {
      throw new EbmError('E_USAGE', `plugin ${descriptor.manifest.id} is a ${descriptor.manifest.kind}, not a translator`);
    }
    const compressionLevel = request.compressionLevel ?? repo.compressionLevel;
    if (!Number.isInteger(compressionLevel) || compressionLevel < 0 || compressionLevel > 22) {
      throw new EbmError('E_USAGE', `invalid compression level ${compressionLevel}: need an integer 0..22 (0 stores uncompressed)`, { subject: 'compressionLevel' });
    }
    const hostname = request.host ?? os.hostname();
    const lock = await acquireLock(repo, { exclusive: false, operation: `backup ${request.dataset}` });
    const store = await BlobStore.open(repo, { compressionLevel });
    let committed = false;
    let cut: JournalCut | undefined;
    try {
      const parent = request.full ? undefined : await latestForDataset(repo, request.dataset, hostname);
      cut = await request.changeJournal?.cut(parent?.id, Boolean(request.full));
      const changes = cut?.trusted && parent ? { changes: { since: parent.id, paths: cut.paths ?? [] } } : {};
      const result = (await this.host.run(
        descriptor,
        {
          op: 'backup',
          source: request.source,
          options: request.options ?? {},
          ...(parent ? { parent: { id: parent.id, tree: parent.tree, ...(parent.meta !== undefined ? { meta: parent.meta } : {}) } } : {}),
          ...changes,
          addressing: { idKey: repo.keys.id, chunker: repo.chunkerParams() },
          windowBytes: WINDOW_BYTES,
          compression: { algorithm: 'zstd', level: compressionLevel },
        },
        new RepositoryBlobServer(store, true),
        { jobId: request.jobId ?? randomUUID(), signal: request.signal, onProgress: request.onProgress, onWarning: request.onWarning },
      )) as BackupTaskResult;
      if (result.op !== 'backup') throw new EbmError('E_PROTOCOL', `plugin ${descriptor.manifest.id} returned a ${String(result.op)} result for a backup`);
      if (!store.has(result.tree)) {
        throw new EbmError('E_PROTOCOL', `plugin ${descriptor.manifest.id} reported root tree ${result.tree.slice(0, 12)} but never stored it`);
      }
      await store.flush();
      await request.commitGate?.();
      // A cancel that arrived while the last packs and the index were written still wins: no snapshot
      // (the flushed packs are unreferenced; prune reclaims them).
      if (request.signal?.aborted) throw new EbmError('E_CANCELLED', `backup of ${request.dataset} was cancelled before its snapshot was saved`, { op: 'backup' });
      const stats = store.stats();
      const snapshot: Snapshot = {
        v: 1,
        time: new Date(started).toISOString(),
        host: hostname,
        username: safeUsername(),
        dataset: request.dataset,
        translator: { id: descriptor.manifest.id, version: descriptor.version },
        source: request.source,
        tags: [...(request.tags ?? [])].sort(),
        ...(parent ? { parent: parent.id } : {}),
        tree: result.tree,
        ...(result.root ? { root: result.root } : {}),
        summary: {
          ...result.stats,
          bytesAdded: stats.bytesAdded,
          blobsAdded: stats.blobsAdded,
          durationMs: Date.now() - started,
          warnings: result.warnings,
          warningsDropped: result.warningsDropped,
          ...(cut ? { changeJournal: cut.trusted ? { used: true as const, paths: cut.paths?.length ?? 0 } : { used: false as const, reason: cut.reason ?? 'unknown' } } : {}),
        },
        ...(result.meta ? { meta: result.meta } : {}),
      };
      const snapshotId = await saveSnapshot(repo, snapshot);
      committed = true;
      cut?.commit(snapshotId);
      return { snapshotId, snapshot: { ...snapshot, id: snapshotId }, ...(parent ? { parent: parent.id } : {}) };
    } finally {
      if (!committed) {
        cut?.abort();
        await store.abort().catch(() => undefined);
      }
      await lock.release();
    }
  }
}

function safeUsername(): string {
  try {
    return os.userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}
