/**
 * @ebm/core — the host. This is the package's one export list; the `ebm` CLI
 * is `cli/main.ts`.
 */
import 'reflect-metadata';

// Storage backends.
export type { Backend, FileType, Handle, FileInfo } from './backend/backend';
export { FILE_TYPES } from './backend/backend';
export { LocalBackend } from './backend/local-backend';
export { MemoryBackend } from './backend/memory-backend';

// The repository.
export { Repository } from './repository/repository';
export { BlobStore } from './repository/blob-store';
export { REPOSITORY_FORMAT_VERSION } from './repository/types';
export type { RepositoryConfig, MasterKeys, Snapshot, SnapshotRecord, SnapshotSummary } from './repository/types';
export { addKey, listKeys, removeKey } from './repository/keys';
export { acquireLock } from './locks/lock';
export { listLocks, removeStaleLocks } from './locks/unlock';
export { saveSnapshot, loadSnapshot, listSnapshots, findSnapshot, removeSnapshot, latestForDataset } from './snapshots/snapshot-store';
export { applyForgetPolicy } from './snapshots/forget-policy';
export { checkRepository } from './checker/check';
export type { CheckReport } from './checker/check-report';
export { prune } from './prune/prune';

// Plugins and services.
export { PluginRegistry } from './plugin-host/plugin-registry';
export { PluginHost } from './plugin-host/plugin-host';
export { HostEvents } from './events/host-events';
export { BackupService } from './backup/backup-service';
export type { BackupRequest, BackupReport } from './backup/backup-service';
export { RestoreService } from './restore/restore-service';
export type { RestoreRequest } from './restore/restore-service';
export { createContainer } from './container';
export type { ContainerOptions } from './container';

// The runtime (ebm serve): configuration, scheduler, jobs and queue, data mover, catalog, HTTP API.
export { loadHostConfig, parseHostConfig } from './config/load-config';
export type { HostConfiguration, RepositoryConfigEntry, DatasetConfig, Budgets } from './config/config-types';
export { ConfigError } from './config/config-problem';
export { Scheduler } from './scheduler/scheduler';
export { SystemClock, ManualClock } from './scheduler/clock';
export type { Clock } from './scheduler/clock';
export { validateRequest } from './controller/validate-request';
export { JobQueue } from './queue/job-queue';
export { CostModel } from './queue/cost-model';
export { JobEvents } from './jobs/job-events';
export { JobJournal } from './jobs/job-journal';
export { recoverJournal } from './jobs/journal-recovery';
export { ServiceJobExecutor } from './jobs/service-job-executor';
export type { JobRecord, JobRequest, JobState, JobKind, JobCost, RetryPolicy } from './jobs/job-types';
export { createDataMover, DataMover } from './mover/data-mover';
export { Catalog } from './catalog/catalog';
export { syncCatalog, rebuildCatalog } from './catalog/indexer';
export { createApiServer } from './api/api-server';
export type { RuntimeFacade } from './api/runtime-facade';
export { HostRuntime } from './runtime/host-runtime';
export { Logger } from './logging/logger';

// Demo helpers (also used by end-to-end tests).
export { generateSampleTree, mutateSampleTree } from './demo/sample-tree';
export { compareTrees } from './demo/tree-compare';
