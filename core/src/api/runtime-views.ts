import type { ErrorRecord, JsonValue, ProgressUpdate } from '@ebm/sdk';
import type { JobLogLine, JobRecord, JobState } from '../jobs/job-types';

/* What the running host answers the HTTP API with (see RuntimeFacade in runtime-facade.ts): plain JSON-compatible views. */

// ---------------------------------------------------------------- status

export interface HostStatus {
  readonly version: string;
  readonly pid: number;
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  /** False once SIGTERM was received: no new job is admitted. */
  readonly accepting: boolean;
  readonly budgets: BudgetStatus;
  readonly queue: QueueStatus;
  readonly plugins: readonly PluginStatus[];
  readonly repositories: readonly RepositoryStatus[];
  readonly datasets: readonly DatasetStatus[];
}

export interface BudgetUse {
  readonly limit: number;
  readonly used: number;
}

export interface BudgetStatus {
  readonly workers: BudgetUse;
  readonly memoryMiB: BudgetUse;
  /** Concurrent I/O streams, per repository name. */
  readonly ioStreams: Readonly<Record<string, BudgetUse>>;
}

export interface QueueStatus {
  /** Jobs waiting for admission. */
  readonly queued: number;
  readonly running: number;
  /** Backups whose data is being re-read (serial verification lane). */
  readonly verifying: number;
}

export interface PluginStatus {
  readonly id: string;
  readonly version: string;
  /** Loaded in worker threads right now (translators are unloaded when idle). */
  readonly loaded: boolean;
  readonly crashes: number;
}

export interface RepositoryStatus {
  readonly name: string;
  /** A directory path or URL; never contains credentials. */
  readonly location: string;
}

export interface DatasetStatus {
  readonly name: string;
  readonly translator: string;
  readonly repository: string;
  readonly schedule?: string;
  /** ISO time of the next scheduled run. */
  readonly nextRunAt?: string;
  readonly lastJob?: { readonly id: string; readonly state: JobState; readonly finishedAt?: string };
  /** The dataset's change journal, when the configuration keeps one. */
  readonly journal?: JournalStatus;
}

export interface JournalStatus {
  /** starting: setting up watches; watching: recording; gap: the watcher is down (restarting); failed: it could not start. */
  readonly state: 'starting' | 'watching' | 'gap' | 'failed';
  readonly reason?: string;
  /** The snapshot the recorded paths are relative to (the next backup is trusted only if it is its parent). */
  readonly base?: string;
  readonly pendingPaths?: number;
  readonly watcherPid?: number;
}

// ---------------------------------------------------------------- snapshots

/** One snapshot as listed by the API (OpenAPI schema `SnapshotSummary`). */
export interface ApiSnapshotSummary {
  readonly id: string;
  readonly repository: string;
  readonly dataset: string;
  readonly time: string;
  readonly host: string;
  readonly tags: readonly string[];
  readonly translator: { readonly id: string; readonly version: string };
  readonly source: string;
  readonly parent?: string;
  readonly files: number;
  readonly dirs: number;
  readonly bytesTotal: number;
  readonly bytesAdded: number;
  readonly durationMs: number;
  readonly warnings: number;
}

export interface BrowseEntry {
  readonly name: string;
  /** Snapshot-relative POSIX path. */
  readonly path: string;
  /** An entry kind of the normalized model (dir, file, symlink, …). */
  readonly kind: string;
  readonly size?: number;
  readonly mode?: number;
  readonly user?: string;
  readonly group?: string;
  /** ISO time (millisecond precision). */
  readonly mtime?: string;
  /** Symlink target. */
  readonly target?: string;
}

export interface BrowseListing {
  /** The full snapshot id the selector resolved to (with `layer`: the layer's snapshot). */
  readonly snapshot: string;
  /** With `layer`: the endpoint snapshot and the layer browsed. */
  readonly endpoint?: string;
  readonly layer?: string;
  readonly path: string;
  readonly entries: readonly BrowseEntry[];
  /** Entries in the directory (entries holds at most `limit` of them from `offset`). */
  readonly total: number;
}

// ---------------------------------------------------------------- events

/** Payloads of the events streamed to API clients, by event name. */
export interface RuntimeEventMap {
  'job:queued': { readonly job: JobRecord };
  'job:state': { readonly jobId: string; readonly dataset?: string; readonly state: JobState; readonly previous: JobState; readonly attempt: number; readonly error?: ErrorRecord };
  'job:progress': { readonly jobId: string; readonly progress: ProgressUpdate };
  'job:log': { readonly jobId: string; readonly line: JobLogLine };
  /** The job reached done, failed or cancelled. */
  'job:done': { readonly job: JobRecord };
  'plugin:loaded': { readonly pluginId: string; readonly version: string };
  'plugin:unloaded': { readonly pluginId: string; readonly reason: string };
  'plugin:crashed': { readonly pluginId: string; readonly jobId?: string; readonly error: ErrorRecord };
  'schedule:fired': { readonly dataset: string; readonly jobId: string; readonly scheduledFor: string; readonly missed: boolean };
}

export type RuntimeEventType = keyof RuntimeEventMap;

export type RuntimeEvent = { [K in RuntimeEventType]: { readonly type: K; readonly data: RuntimeEventMap[K] } }[RuntimeEventType];

export const RUNTIME_EVENT_TYPES: readonly RuntimeEventType[] = [
  'job:queued', 'job:state', 'job:progress', 'job:log', 'job:done', 'plugin:loaded', 'plugin:unloaded', 'plugin:crashed', 'schedule:fired',
];

export type RuntimeEventListener = (event: RuntimeEvent) => void;

/**
 * All runtime events on one channel named 'event', in emission order. Node's
 * EventEmitter and eventemitter3 both satisfy it. Listeners are called
 * synchronously by the emitter and must not throw (the API's does not).
 */
export interface RuntimeEventSource {
  on(name: 'event', listener: RuntimeEventListener): unknown;
  off(name: 'event', listener: RuntimeEventListener): unknown;
  listenerCount(name: 'event'): number;
}

// ---------------------------------------------------------------- metrics

/** Read at scrape time. Counters are cumulative since the host started. */
export interface RuntimeMetrics {
  /** Jobs currently known to the host, by state (journal retention decides how long finished ones count). */
  readonly jobsByState: Readonly<Partial<Record<JobState, number>>>;
  readonly bytesRead: number;
  readonly bytesAdded: number;
  readonly queueDepth: number;
  readonly budgets: { readonly workers: BudgetUse; readonly memoryMiB: BudgetUse };
  /** Worker deaths (crash, out of memory, timeout), by plugin id. */
  readonly pluginCrashes: Readonly<Record<string, number>>;
  readonly mover: MoverCounters;
}

export interface MoverCounters {
  readonly objectsWritten: number;
  readonly bytesWritten: number;
  /** Transient failures retried. */
  readonly retries: number;
  /** Objects whose read-back checksum did not match. */
  readonly verifyFailures: number;
}

/** Fields the API's access log and errors write: a subset of the host's structured logger. */
export interface ApiLogger {
  info(msg: string, fields?: Readonly<Record<string, JsonValue>>): void;
  warn(msg: string, fields?: Readonly<Record<string, JsonValue>>): void;
  error(msg: string, fields?: Readonly<Record<string, JsonValue>>): void;
}
