import type { ErrorRecord, JsonValue, OptionValue, ProgressUpdate } from '@ebm/sdk';

/**
 * The job model of the runtime (`ebm serve`): what the queue schedules, the
 * HTTP API lists and the event stream reports. Plain data throughout, so a
 * job can be journalled, sent as JSON and rebuilt after a restart.
 */
export type JobKind = 'backup' | 'restore' | 'verify' | 'forget' | 'prune';

/**
 * queued → running → (verifying →) done | failed | cancelled.
 * 'verifying' is a backup whose snapshot is written and whose data is being
 * re-read and checked (queued serially behind backups; see docs/runtime.md).
 */
export type JobState = 'queued' | 'running' | 'verifying' | 'done' | 'failed' | 'cancelled';

export const TERMINAL_STATES: readonly JobState[] = ['done', 'failed', 'cancelled'];

/** What a job needs from the host's budgets while it runs. */
export interface JobCost {
  /** Worker threads. */
  readonly workers: number;
  /** Memory in MiB (heap of its worker plus buffers). */
  readonly memoryMiB: number;
  /** Concurrent I/O streams on its repository. */
  readonly ioStreams: number;
}

export interface RetryPolicy {
  /** Attempts in all (1 = no retry). */
  readonly attempts: number;
  /** Delay before the second attempt; doubles each time, up to maxBackoffMs. */
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

/**
 * A layered endpoint (docs/layers.md, "In the host process"): the backup
 * reads the selected layers through the layered backup service; a forget
 * applies its policy to the endpoint snapshots that selected the same
 * layers and to those layers' own snapshots, never removing a layer an
 * endpoint snapshot still names.
 */
export interface LayeredJobSpec {
  /** The endpoint's name (its snapshots' dataset; its writable layers are `<endpoint>#layer:<id>`). */
  readonly endpoint: string;
  /** Layer ids or kinds; empty = every layer. */
  readonly layers: readonly string[];
  /** A layer map's base image as an earlier snapshot (id, prefix or latest:DATASET); see LayeredBackupRequest.baseSnapshot. */
  readonly baseSnapshot?: string;
}

/** A validated request: what the backup controller accepts and the queue runs. */
export interface BackupJobRequest {
  readonly kind: 'backup';
  readonly dataset: string;
  readonly repository: string;
  /** The translator; for a layered backup (`layered` set) the layer provider. */
  readonly translator: string;
  /** Set: a layered endpoint backup through the layer provider `translator`. */
  readonly layered?: LayeredJobSpec;
  readonly source: string;
  readonly options: Readonly<Record<string, OptionValue>>;
  readonly tags: readonly string[];
  /** Force a baseline read (ignore the parent snapshot). */
  readonly full: boolean;
  readonly priority: number;
  /** Absolute ISO time after which the job is stopped and fails with E_DEADLINE_EXCEEDED (never retried). */
  readonly deadline?: string;
  /** Re-read and check what the backup wrote, in the serial verification lane. */
  readonly verify: boolean;
  /** zstd level (0 stores, 1 fast … 22 small) for the data this backup adds; default the repository's configured level. */
  readonly compressionLevel?: number;
  /** How a retryable failure of this backup is retried (a dataset's `retry`); default the queue's policy. */
  readonly retry?: RetryPolicy;
}

export interface RestoreJobRequest {
  readonly kind: 'restore';
  readonly repository: string;
  readonly snapshot: string;
  readonly target: string;
  readonly includes: readonly string[];
  readonly overwrite: boolean;
  readonly priority: number;
  /**
   * Endpoint snapshots only: `layer` restores that layer as stored; `native`
   * one directory per layer; neither = flattened (the merged view).
   */
  readonly layer?: string;
  readonly native?: boolean;
}

export interface VerifyJobRequest {
  readonly kind: 'verify';
  readonly repository: string;
  /** A snapshot to verify (its packs are re-read), or the whole repository subset. */
  readonly snapshot?: string;
  readonly readDataSubset?: string;
  readonly priority: number;
}

export interface ForgetJobRequest {
  readonly kind: 'forget' | 'prune';
  readonly repository: string;
  readonly dataset?: string;
  readonly policy?: Readonly<Record<string, number | readonly string[]>>;
  readonly prune: boolean;
  readonly priority: number;
  /** A layered dataset's retention: the policy applies to this endpoint's snapshots that selected these layers, and to those layers' snapshots. */
  readonly layered?: LayeredJobSpec;
}

export type JobRequest = BackupJobRequest | RestoreJobRequest | VerifyJobRequest | ForgetJobRequest;

export interface JobLogLine {
  readonly time: string;
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields?: Record<string, JsonValue>;
}

/** A job as the API and the journal see it. */
export interface JobRecord {
  readonly id: string;
  readonly kind: JobKind;
  readonly request: JobRequest;
  readonly state: JobState;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  /** 1-based attempt number of the current or last run. */
  readonly attempt: number;
  readonly cost: JobCost;
  readonly progress?: ProgressUpdate;
  /** Set when state is failed or cancelled. */
  readonly error?: ErrorRecord;
  /** Result summary (e.g. the snapshot id of a backup). */
  readonly result?: Record<string, JsonValue>;
  /** The last lines of the job's log (the full log is in the structured log). */
  readonly log: readonly JobLogLine[];
}
