import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { inject, injectable } from 'tsyringe';
import { EbmError, OptionValue, ProgressUpdate, RestoreTaskResult, Warning } from '@ebm/sdk';
import { PluginHost } from '../plugin-host/plugin-host';
import { PluginRegistry, prewarmPlugin } from '../plugin-host/plugin-registry';
import { Repository } from '../repository/repository';
import { BlobStore } from '../repository/blob-store';
import { acquireLock } from '../locks/lock';
import type { SnapshotRecord } from '../repository/types';
import { RepositoryBlobServer } from '../backup/repository-blob-server';
import type { BlobServer } from '../plugin-host/blob-server';

export interface RestoreRequest {
  readonly repository: Repository;
  readonly snapshot: SnapshotRecord;
  readonly target: string;
  readonly includes?: readonly string[];
  readonly overwrite?: boolean;
  readonly options?: Readonly<Record<string, OptionValue>>;
  /** Id for the plugin host's events (the queue passes its job id); random by default. */
  readonly jobId?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: ProgressUpdate) => void;
  readonly onWarning?: (warning: Warning) => void;
}

/** What a restore needs of a snapshot (a repository's snapshot record, or an export's header). */
export type RestorableSnapshot = Pick<SnapshotRecord, 'id' | 'time' | 'source' | 'dataset' | 'tree' | 'root' | 'meta'> & { readonly translator: { readonly id: string } };

/** A restore whose blobs come from somewhere other than an open repository (e.g. an export file). */
export interface RestoreFromRequest extends Omit<RestoreRequest, 'repository' | 'snapshot'> {
  readonly blobs: BlobServer;
  readonly snapshot: RestorableSnapshot;
}

/**
 * Restores a snapshot through the translator that made it, under a shared
 * lock (so prune cannot remove blobs mid-restore). The target must be empty
 * or absent unless `overwrite`.
 */
@injectable()
export class RestoreService {
  constructor(
    @inject(PluginHost) private readonly host: PluginHost,
    @inject(PluginRegistry) private readonly registry: PluginRegistry,
  ) {}

  /** Warms a worker of plugin `pluginId` for a restore about to follow (PluginHost.prewarm); an unknown plugin is left to that restore to report. */
  prewarm(pluginId: string): void {
    prewarmPlugin(this.host, this.registry, pluginId);
  }

  /**
   * The translator's worker is started (PluginHost.prewarm) before the lock
   * is taken and the index loaded, so its start-up (a thread, the bootstrap,
   * the plugin's modules: about 0.1 s) runs while this thread loads the
   * index instead of after it.
   */
  async restore(request: RestoreRequest): Promise<RestoreTaskResult> {
    const { repository: repo, ...rest } = request;
    this.host.prewarm(this.registry.get(request.snapshot.translator.id)); // E_PLUGIN_NOT_FOUND before taking a lock
    const lock = await acquireLock(repo, { exclusive: false, operation: `restore ${request.snapshot.id.slice(0, 8)}` });
    try {
      const store = await BlobStore.open(repo);
      return await this.restoreFrom({ ...rest, blobs: new RepositoryBlobServer(store, false) });
    } finally {
      await lock.release();
    }
  }

  /** Restores from any blob source: the translator in a worker, blobs served from `request.blobs`. */
  async restoreFrom(request: RestoreFromRequest): Promise<RestoreTaskResult> {
    const { snapshot } = request;
    const descriptor = this.registry.get(snapshot.translator.id);
    const target = path.resolve(request.target);
    await prepareTarget(target, request.overwrite ?? false);
    const result = await this.host.run(
      descriptor,
      {
        op: 'restore',
        target,
        overwrite: request.overwrite ?? false,
        tree: snapshot.tree,
        snapshot: {
          id: snapshot.id,
          time: snapshot.time,
          source: snapshot.source,
          dataset: snapshot.dataset,
          ...(snapshot.meta ? { meta: snapshot.meta } : {}),
          ...(snapshot.root ? { root: snapshot.root } : {}),
        },
        includes: (request.includes ?? []).map(normalizeInclude),
        options: request.options ?? {},
      },
      request.blobs,
      { jobId: request.jobId ?? randomUUID(), signal: request.signal, onProgress: request.onProgress, onWarning: request.onWarning },
    );
    if (result.op !== 'restore') throw new EbmError('E_PROTOCOL', `plugin ${descriptor.manifest.id} returned a ${String(result.op)} result for a restore`);
    return result;
  }
}

/** Snapshot-relative POSIX path: strips leading '/' and './', trailing '/'. */
export function normalizeInclude(include: string): string {
  const trimmed = include.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
  return trimmed === '.' ? '' : trimmed;
}

async function prepareTarget(target: string, overwrite: boolean): Promise<void> {
  let entries: string[];
  try {
    const st = await fs.lstat(target);
    if (!st.isDirectory()) throw new EbmError('E_USAGE', `restore target ${target} exists and is not a directory`, { subject: target });
    entries = await fs.readdir(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      await fs.mkdir(target, { recursive: true });
      return;
    }
    throw err;
  }
  if (entries.length > 0 && !overwrite) {
    throw new EbmError('E_TARGET_NOT_EMPTY', `restore target ${target} is not empty (${entries.length} entries); choose an empty directory or pass --overwrite`, { subject: target });
  }
}
