/** The options, requests and results of the in-memory test host (memory-host.ts). */
import type { ChunkerParams } from '../chunker/chunker-params';
import type { BlobId, JsonValue } from '../entry/entry';
import type { OptionValue } from '../manifest/manifest';
import type { BlobKind, LogMessage, TaskRequest, TaskResult } from '../protocol/messages';
import type { ProgressUpdate, SnapshotInfo, Warning } from '../translator/context';
import type { Translator } from '../translator/translator';

export interface MemoryRepositoryOptions {
  /** Chunk sizes (small ones make tests fast); the defaults are DEFAULT_CHUNKER_SIZES. */
  readonly chunker?: Partial<Pick<ChunkerParams, 'minSize' | 'avgSize' | 'maxSize' | 'normalization'>>;
  /** Plugin id used in error records (default 'test'). */
  readonly pluginId?: string;
  /**
   * Content-addressing keys (default: random). Repositories given the same
   * keys give the same blob and tree ids for the same data (the conformance
   * harness compares ids across fresh repositories this way).
   */
  readonly keys?: { readonly idKey: Uint8Array; readonly gearKey: Uint8Array };
}

/** Knobs for misbehaving-host tests, shared by backup and restore. */
export interface MemoryTaskControls {
  readonly options?: Readonly<Record<string, OptionValue>>;
  /** Sends `cancel` right after the host has received this many worker messages. */
  readonly cancelAfterMessages?: number;
  /** Delays every put-blob-ack by this many milliseconds (backpressure tests). */
  readonly ackDelayMs?: number;
}

export interface MemoryBackupRequest extends MemoryTaskControls {
  readonly source: string;
  /** Root tree of the parent snapshot, for incrementals. */
  readonly parentTree?: BlobId;
  /** The translator metadata the parent recorded (PreviousSnapshot.meta), as a host passes it; only with parentTree. */
  readonly parentMeta?: { readonly [key: string]: JsonValue };
  /** Paths changed since the parent (as a trusted change journal would give them); only with parentTree. */
  readonly changedPaths?: readonly string[];
  readonly windowBytes?: number;
}

export interface MemoryRestoreRequest extends MemoryTaskControls {
  readonly tree: BlobId;
  readonly target: string;
  readonly includes?: readonly string[];
  readonly overwrite?: boolean;
  readonly snapshot?: Partial<SnapshotInfo>;
}

/** What the plugin sent besides requests. */
export interface HostEvents {
  readonly progress: ProgressUpdate[];
  readonly logs: Omit<LogMessage, 't'>[];
  readonly warnings: Warning[];
}

/** What the host saw during one task. */
export interface HostCounters {
  messages: number;
  queries: number;
  idsQueried: number;
  /** Blobs received (a put-blobs message counts each of its blobs). */
  putBlobs: number;
  /** put-blob and put-blobs messages (requests) received. */
  putRequests: number;
  putBytes: number;
  /** Of putBytes, the bytes that came as views of shared memory (the worker's ring) rather than in buffers of their own. */
  sharedPutBytes: number;
  dataPuts: number;
  treePuts: number;
  loadTrees: number;
  loadBlobs: number;
  /** Of loadBlobs, those answered with borrowed bytes (ReadContentOptions.borrow); each region is overwritten once given back. */
  lentBlobs: number;
  /** Borrowed regions not given back when the task ended, plus release-blob messages for nothing on loan: both 0 for a correct SDK. */
  loanErrors: number;
  /** Highest amount of put-blob data received and not yet acknowledged. */
  maxUnackedBytes: number;
}

export interface MemoryTaskOutcome {
  readonly result: TaskResult;
  readonly stats: HostCounters;
  readonly events: HostEvents;
}

/**
 * Runs a task somewhere else, e.g. in a worker thread: it must deliver the
 * request (transferring `request.port`) to code that calls runTask.
 */
export type TaskRunner = (request: TaskRequest) => Promise<TaskResult>;

export interface MemoryRepository {
  readonly idKey: Uint8Array;
  readonly chunker: ChunkerParams;
  /** Runs a backup of `translator` in this thread, or through `runner`. */
  backup(translator: Translator | TaskRunner, request: MemoryBackupRequest): Promise<MemoryTaskOutcome>;
  restore(translator: Translator | TaskRunner, request: MemoryRestoreRequest): Promise<MemoryTaskOutcome>;
  has(id: BlobId): boolean;
  /** A copy of a stored blob's plaintext. */
  get(id: BlobId): Uint8Array | undefined;
  /** Stores a blob directly (e.g. a hand-made hostile tree) and returns its id. */
  putBlob(data: Uint8Array, kind: BlobKind): BlobId;
  readonly blobCount: number;
  readonly storedBytes: number;
  /** Events of the most recent task. */
  readonly events: HostEvents;
}
