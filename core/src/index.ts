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

// Demo helpers (also used by end-to-end tests).
export { generateSampleTree, mutateSampleTree } from './demo/sample-tree';
export { compareTrees } from './demo/tree-compare';
