import { EbmError } from '@ebm/sdk';
import type { JsonValue } from '@ebm/sdk';
import type { BackupService } from '../backup/backup-service';
import { checkRepository } from '../checker/check';
import type { ReadDataSubset } from '../checker/check-report';
import { acquireLock } from '../locks/lock';
import { prune } from '../prune/prune';
import type { Repository } from '../repository/repository';
import type { RestoreService } from '../restore/restore-service';
import { applyForgetPolicy } from '../snapshots/forget-policy';
import type { ForgetPolicy } from '../snapshots/forget-policy';
import { findSnapshot, listSnapshots, loadSnapshot, removeSnapshot } from '../snapshots/snapshot-store';
import type { JobExecutor } from '../queue/job-executor';
import type { Job } from './job';
import type { BackupJobRequest, ForgetJobRequest, RestoreJobRequest, VerifyJobRequest } from './job-types';
import type { RepositoryProvider } from './repository-provider';
import { verifySnapshotData } from './verify-snapshot';
import { holdReferencedLayers } from '../layers/layer-references';
import type { JournalRegistry } from '../journal/journal-registry';
import type { LayeredBackupService } from '../layers/layered-backup-service';
import type { LayeredRestoreService } from '../layers/layered-restore-service';
import { layeredRecordOf } from '../layers/endpoint-snapshot';
import { layeredRetentionCandidates, runLayeredBackup, runLayeredRestore, storedLayers } from './layered-jobs';
import type { LayeredJobContext } from './layered-jobs';

export interface ServiceJobExecutorDeps {
  readonly backup: BackupService;
  readonly restore: RestoreService;
  readonly repositories: RepositoryProvider;
  /** Host name recorded in snapshots (default os.hostname()). */
  readonly host?: string;
  /** The configured zstd level of a repository, for backups whose request sets none (default: the repository's own). */
  readonly compressionLevelOf?: (repository: string) => number | undefined;
  /** The host's change journals; a dataset's backup uses its own (see JournalRegistry.forBackup). */
  readonly journals?: JournalRegistry;
  /** Layered endpoints (docs/layers.md): backups of layered datasets and restores of endpoint snapshots. Without them such jobs fail with E_NOT_SUPPORTED. */
  readonly layeredBackup?: LayeredBackupService;
  readonly layeredRestore?: LayeredRestoreService;
}

/**
 * The real executor: runs jobs through BackupService, RestoreService,
 * checkRepository, forget and prune. Backups and restores run their
 * translator in a worker of the PluginHost; a failed or cancelled backup
 * writes no snapshot and removes its unindexed packs (BackupService's
 * contract). Forget and prune take the repository's exclusive lock.
 */
export class ServiceJobExecutor implements JobExecutor {
  readonly #deps: ServiceJobExecutorDeps;

  constructor(deps: ServiceJobExecutorDeps) {
    this.#deps = deps;
  }

  async run(job: Job, signal: AbortSignal): Promise<Record<string, JsonValue>> {
    const request = job.request;
    const repo = await this.#deps.repositories.open(request.repository);
    switch (request.kind) {
      case 'backup':
        return this.#backup(job, repo, request, signal);
      case 'restore':
        return this.#restore(job, repo, request, signal);
      case 'verify':
        return this.#verify(job, repo, request, signal);
      case 'forget':
      case 'prune':
        return this.#forget(job, repo, request, signal);
    }
  }

  /** Verifies a finished backup: re-reads the packs its snapshot references that its parent does not. */
  async verify(job: Job, signal: AbortSignal): Promise<Record<string, JsonValue>> {
    const request = job.request;
    const snapshotId = job.result?.snapshotId;
    if (request.kind !== 'backup' || typeof snapshotId !== 'string') throw new EbmError('E_INTERNAL', `job ${job.id}: only a backup with a snapshot can be verified`);
    const repo = await this.#deps.repositories.open(request.repository);
    if (request.layered !== undefined) return this.#verifyLayers(job, repo, snapshotId, signal);
    return withSharedLock(repo, `verify ${snapshotId.slice(0, 8)}`, async () => {
      const snapshot = await loadSnapshot(repo, snapshotId);
      const parentId = job.result?.parent;
      const parent = typeof parentId === 'string' ? await loadSnapshot(repo, parentId).catch(() => undefined) : undefined;
      const v = await verifySnapshotData(repo, snapshot, { ...(parent ? { parent } : {}), signal, onProgress: (done, total) => job.setProgress({ files: done, totalFiles: total, currentPath: 'verify' }) });
      job.log('info', `verified snapshot ${snapshotId.slice(0, 8)}: ${v.packsRead} pack(s), ${v.blobsRead} blob(s) re-read`);
      return { snapshotId, packsRead: v.packsRead, blobsRead: v.blobsRead, trees: v.trees };
    });
  }

  /** A layered backup's endpoint snapshot has an empty tree: its verification re-reads the layer snapshots it stored. */
  async #verifyLayers(job: Job, repo: Repository, snapshotId: string, signal: AbortSignal): Promise<Record<string, JsonValue>> {
    return withSharedLock(repo, `verify ${snapshotId.slice(0, 8)} (layers)`, async () => {
      const totals = { packsRead: 0, blobsRead: 0, trees: 0 };
      for (const stored of storedLayers(job.result)) {
        const snapshot = await loadSnapshot(repo, stored.snapshot);
        const parent = stored.parent !== undefined ? await loadSnapshot(repo, stored.parent).catch(() => undefined) : undefined;
        const v = await verifySnapshotData(repo, snapshot, { ...(parent ? { parent } : {}), signal });
        totals.packsRead += v.packsRead;
        totals.blobsRead += v.blobsRead;
        totals.trees += v.trees;
      }
      job.log('info', `verified endpoint snapshot ${snapshotId.slice(0, 8)}: ${totals.packsRead} pack(s), ${totals.blobsRead} blob(s) of its stored layers re-read`);
      return { snapshotId, ...totals };
    });
  }

  #layeredContext(job: Job, signal: AbortSignal): LayeredJobContext {
    return {
      jobId: job.id, signal,
      ...(this.#deps.host !== undefined ? { host: this.#deps.host } : {}),
      log: (level, message, fields) => job.log(level, message, fields),
      onProgress: (p) => job.setProgress(p),
    };
  }

  async #backup(job: Job, repo: Repository, request: BackupJobRequest, signal: AbortSignal): Promise<Record<string, JsonValue>> {
    const compressionLevel = request.compressionLevel ?? this.#deps.compressionLevelOf?.(request.repository);
    if (request.layered !== undefined) {
      if (this.#deps.layeredBackup === undefined) throw new EbmError('E_NOT_SUPPORTED', `dataset ${request.dataset} is a layered endpoint, and this host runs no layered backup service`);
      return runLayeredBackup(this.#deps.layeredBackup, repo, { ...request, layered: request.layered }, compressionLevel, this.#layeredContext(job, signal));
    }
    const journal = this.#deps.journals?.forBackup(request.dataset, request.source);
    const report = await this.#deps.backup.backup({
      ...(journal ? { changeJournal: journal } : {}),
      repository: repo,
      ...(compressionLevel !== undefined ? { compressionLevel } : {}),
      translator: request.translator,
      source: request.source,
      dataset: request.dataset,
      tags: request.tags,
      options: request.options,
      full: request.full,
      jobId: job.id,
      signal,
      ...(this.#deps.host !== undefined ? { host: this.#deps.host } : {}),
      onProgress: (p) => job.setProgress(p),
      onWarning: (w) => job.log('warn', w.message, { path: w.path, code: w.code }),
    });
    const s = report.snapshot.summary;
    job.log('info', `snapshot ${report.snapshotId.slice(0, 8)} saved${report.parent ? ` (incremental on ${report.parent.slice(0, 8)})` : ' (baseline)'}`);
    const cj = s.changeJournal;
    if (cj !== undefined) job.log('info', cj.used ? `change journal used: ${cj.paths} changed path(s) examined, nothing else` : `change journal not used (${cj.reason}): the whole tree was scanned`);
    return {
      snapshotId: report.snapshotId,
      ...(report.parent !== undefined ? { parent: report.parent } : {}),
      files: s.files,
      bytesAdded: s.bytesAdded,
      blobsAdded: s.blobsAdded,
      warnings: s.warnings.length,
      ...(cj !== undefined ? { changeJournal: { ...cj } } : {}),
    };
  }

  async #restore(job: Job, repo: Repository, request: RestoreJobRequest, signal: AbortSignal): Promise<Record<string, JsonValue>> {
    const snapshot = await findSnapshot(repo, request.snapshot);
    if (layeredRecordOf(snapshot) !== undefined) {
      if (this.#deps.layeredRestore === undefined) throw new EbmError('E_NOT_SUPPORTED', `snapshot ${snapshot.id.slice(0, 8)} is a layered endpoint snapshot, and this host runs no layered restore service`);
      return runLayeredRestore(this.#deps.layeredRestore, repo, snapshot, request, this.#layeredContext(job, signal));
    }
    if (request.layer !== undefined || request.native) {
      throw new EbmError('E_USAGE', `snapshot ${snapshot.id.slice(0, 8)} (${snapshot.dataset}) is not a layered endpoint snapshot: restore it without layer/native`, { subject: snapshot.id });
    }
    const result = await this.#deps.restore.restore({
      repository: repo,
      snapshot,
      target: request.target,
      includes: request.includes,
      overwrite: request.overwrite,
      jobId: job.id,
      signal,
      onProgress: (p) => job.setProgress(p),
      onWarning: (w) => job.log('warn', w.message, { path: w.path, code: w.code }),
    });
    return { snapshotId: snapshot.id, target: request.target, files: result.files, bytes: result.bytes, warnings: result.warnings.length };
  }

  async #verify(job: Job, repo: Repository, request: VerifyJobRequest, signal: AbortSignal): Promise<Record<string, JsonValue>> {
    return withSharedLock(repo, 'verify', async (): Promise<Record<string, JsonValue>> => {
      if (request.snapshot !== undefined) {
        const snapshot = await findSnapshot(repo, request.snapshot);
        const v = await verifySnapshotData(repo, snapshot, { signal });
        return { snapshotId: snapshot.id, packsRead: v.packsRead, blobsRead: v.blobsRead, trees: v.trees };
      }
      const subset = request.readDataSubset !== undefined ? parseSubset(request.readDataSubset) : undefined;
      const report = await checkRepository(repo, { ...(subset ? { readDataSubset: subset } : {}), signal, onProgress: (p) => job.setProgress({ files: p.done, ...(p.total !== undefined ? { totalFiles: p.total } : {}), currentPath: p.phase }) });
      if (!report.ok) {
        throw new EbmError('E_CHECK_FAILED', `check of repository "${request.repository}" found ${report.errors.length} problem(s): ${report.errors.slice(0, 3).map((e) => e.message).join('; ')}`, { op: 'verify', subject: report.errors[0]?.subject });
      }
      return { ...report.counts, unreferencedPacks: report.unreferencedPacks.length };
    });
  }

  async #forget(job: Job, repo: Repository, request: ForgetJobRequest, signal: AbortSignal): Promise<Record<string, JsonValue>> {
    const lock = await acquireLock(repo, { exclusive: true, operation: request.kind });
    try {
      let removed = 0;
      if (request.policy !== undefined) {
        const listing = await listSnapshots(repo);
        const candidates = request.layered !== undefined
          ? layeredRetentionCandidates(listing.snapshots, request.layered, request.policy as ForgetPolicy)
          : applyForgetPolicy(listing.snapshots.filter((s) => request.dataset === undefined || s.dataset === request.dataset), request.policy as ForgetPolicy).remove.map((r) => r.snapshot);
        // Layered endpoints: layer snapshots an endpoint snapshot names are kept (core/src/layers/layer-references.ts).
        const { remove, held } = holdReferencedLayers(listing.snapshots, candidates, listing.failures.length);
        for (const h of held) job.log('info', `forget: keeping ${h.snapshot.id.slice(0, 8)} (${h.reason})`);
        for (const r of remove.map((snapshot) => ({ snapshot }))) {
          if (signal.aborted) throw new EbmError('E_CANCELLED', `${request.kind} job ${job.id} was cancelled after removing ${removed} snapshot(s)`);
          await removeSnapshot(repo, r.snapshot.id);
          removed++;
        }
        job.log('info', `forget: removed ${removed} snapshot(s)${held.length > 0 ? `, kept ${held.length} the policy would remove (layers in use)` : ''}`);
      }
      if (!request.prune) return { snapshotsRemoved: removed };
      const report = await prune(repo, { signal, onProgress: (p) => job.setProgress({ files: p.done, ...(p.total !== undefined ? { totalFiles: p.total } : {}), currentPath: p.phase }) });
      job.log('info', `prune: ${report.packsDeleted} pack(s) deleted, ${report.packsRewritten} rewritten, ${report.temporaryFilesDeleted} temporary file(s) removed, ${report.bytesFreed} bytes freed`);
      return { snapshotsRemoved: removed, ...report };
    } finally {
      await lock.release();
    }
  }
}

async function withSharedLock<T>(repo: Repository, operation: string, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(repo, { exclusive: false, operation });
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/** "10%" or "2/5" (validated by the controller). */
export function parseSubset(text: string): ReadDataSubset {
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (pct) return { percent: Number(pct[1]) };
  const nth = /^(\d+)\/(\d+)$/.exec(text);
  if (nth) return { nth: Number(nth[1]), of: Number(nth[2]) };
  throw new EbmError('E_USAGE', `readDataSubset: "${text}" is neither N% nor n/m`);
}
